-- One GCRA cell for one key, atomically, on Redis's clock (so nodes' clocks need not agree).
-- KEYS[1]: the limit's key (a keyed hash, never a value in clear).
-- ARGV[1]: the emission interval in microseconds (the period over the quota).
-- ARGV[2]: the quota (cells allowed at once).
-- ARGV[3]: the key's TTL in milliseconds (the limit's period).
-- Returns {1, 0} when allowed, {0, wait_us} when held back.
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then
  tat = now
end
local allow_at = tat + interval - burst * interval
if now < allow_at then
  return {0, allow_at - now}
end
redis.call('SET', KEYS[1], string.format('%.0f', tat + interval), 'PX', tonumber(ARGV[3]))
return {1, 0}
