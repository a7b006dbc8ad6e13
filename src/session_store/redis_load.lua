-- One read of a step (session_store::redis): the session's version and sealed value, whether a
-- new session would fit under the cap, and the caller's sealed offer and locale.
-- KEYS: session, live set, offer, locale. ARGV: max sessions.
-- Returns five strings; '' stands for nothing held.
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local held = redis.call('HMGET', KEYS[1], 'v', 'b')
local room = '1'
if not held[1] then
  -- Members scored by their expiry: the ones still to come are the sessions alive.
  local alive = redis.call('ZCOUNT', KEYS[2], '(' .. now_ms, '+inf')
  if alive >= tonumber(ARGV[1]) then room = '0' end
end
local offer = redis.call('HGET', KEYS[3], 'b')
local locale = redis.call('GET', KEYS[4])
return { held[1] or '', held[2] or '', room, offer or '', locale or '' }
