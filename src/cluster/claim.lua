-- Claims (or renews) a node digit: KEYS[1] the node's key, ARGV[1] this instance's token,
-- ARGV[2] the claim's life in ms. 1: the claim is this instance's now; 0: another holds it.
local holder = redis.call('GET', KEYS[1])
if holder == false or holder == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', tonumber(ARGV[2]))
  return 1
end
return 0
