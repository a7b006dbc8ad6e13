-- The sessions alive now (session_store::redis): the live set's members not yet past expiry.
-- KEYS: live set.
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
return redis.call('ZCOUNT', KEYS[1], '(' .. now_ms, '+inf')
