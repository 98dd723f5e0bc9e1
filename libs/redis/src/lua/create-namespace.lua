#!lua
-- Creates a namespace and its token index entry together; HSETNX makes exactly one of two
-- concurrent creations of a name win (on any number of gateways).
-- KEYS: 1 namespaces, 2 tokens. ARGV: 1 name, 2 record JSON, 3 token hash. Reply: 1 or 0.
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('HSET', KEYS[2], ARGV[3], ARGV[1])
return 1
