-- A page of the sessions alive now (session_store::redis, `open_by_service`): the live set's
-- members not yet past expiry, from OFFSET, at most COUNT, each with its sealed value.
-- KEYS: live set. ARGV: key prefix, offset, count.
-- Returns member1, value1, member2, value2, ... (a value is "" when its key went meanwhile).
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local members = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now_ms, '+inf',
  'LIMIT', tonumber(ARGV[2]), tonumber(ARGV[3]))
local out = {}
for _, member in ipairs(members) do
  out[#out + 1] = member
  out[#out + 1] = redis.call('HGET', ARGV[1] .. 's:' .. member, 'b') or ''
end
return out
