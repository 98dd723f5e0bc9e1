#!lua
-- KEYS: 1 lease. ARGV: 1 holder, 2 TTL ms. Extends the lease only while `holder` still has it.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
