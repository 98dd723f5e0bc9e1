#!lua
-- KEYS: 1 lease. ARGV: 1 holder, 2 TTL ms. Takes a free lease or extends the holder's own; 1 when held.
local current = redis.call('GET', KEYS[1])
if current == false then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
if current == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
