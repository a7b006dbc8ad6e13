-- One write of a step (session_store::redis), all or nothing: the version compare-and-set, the
-- session with its TTL, the global cap, the caller's share, then the offer and the locale.
-- KEYS: session, live set, version counter, offer, locale, caller's sessions.
-- ARGV: 1 'put'|'remove', 2 expected version ('' none), 3 ttl ms, 4 sealed session,
--       5 session member, 6 max sessions, 7 caller's share (0 none), 8 caller tag,
--       9 offer 'keep'|'put'|'remove'|'remove_if', 10 sealed offer, 11 offer ttl ms,
--       12 tag of the session the offer names, 13 sealed locale ('' none), 14 locale ttl ms.
-- Returns { outcome, version, sessions replaced }.
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local held = redis.call('HGET', KEYS[1], 'v') or ''
if held ~= ARGV[2] then return { 'conflict', '', '0' } end
local version = ''
local replaced = 0
if ARGV[1] == 'remove' then
  if held ~= '' then
    redis.call('DEL', KEYS[1])
    redis.call('ZREM', KEYS[2], ARGV[5])
  end
else
  local ttl = tonumber(ARGV[3])
  if held == '' then
    -- A new session: the sessions past their expiry leave the count first.
    redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now_ms)
    if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[6]) then return { 'full', '', '0' } end
  end
  version = tostring(redis.call('INCR', KEYS[3]))
  redis.call('HSET', KEYS[1], 'v', version, 'b', ARGV[4], 'c', ARGV[8])
  redis.call('PEXPIRE', KEYS[1], ttl)
  redis.call('ZADD', KEYS[2], now_ms + ttl, ARGV[5])
  local share = tonumber(ARGV[7])
  if share > 0 then
    -- The caller's sessions, least recently written first; the ones beyond the share go.
    redis.call('ZADD', KEYS[6], tonumber(version), ARGV[5])
    local prefix = string.sub(KEYS[1], 1, #KEYS[1] - #ARGV[5])
    local mine = {}
    for _, member in ipairs(redis.call('ZRANGE', KEYS[6], 0, -1)) do
      if redis.call('HGET', prefix .. member, 'c') == ARGV[8] then
        table.insert(mine, member)
      else
        redis.call('ZREM', KEYS[6], member)
      end
    end
    for i = 1, #mine - share do
      redis.call('DEL', prefix .. mine[i])
      redis.call('ZREM', KEYS[2], mine[i])
      redis.call('ZREM', KEYS[6], mine[i])
      replaced = replaced + 1
    end
    if redis.call('PTTL', KEYS[6]) < ttl then redis.call('PEXPIRE', KEYS[6], ttl) end
  end
end
if ARGV[9] == 'put' then
  redis.call('HSET', KEYS[4], 'b', ARGV[10], 'by', ARGV[12])
  redis.call('PEXPIRE', KEYS[4], tonumber(ARGV[11]))
elseif ARGV[9] == 'remove' then
  redis.call('DEL', KEYS[4])
elseif ARGV[9] == 'remove_if' and redis.call('HGET', KEYS[4], 'by') == ARGV[12] then
  redis.call('DEL', KEYS[4])
end
if ARGV[13] ~= '' then
  redis.call('SET', KEYS[5], ARGV[13], 'PX', tonumber(ARGV[14]))
end
return { 'ok', version, tostring(replaced) }
