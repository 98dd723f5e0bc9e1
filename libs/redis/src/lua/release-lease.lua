#!lua
-- KEYS: 1 lease. ARGV: 1 holder. Deletes the lease only while `holder` still has it.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
