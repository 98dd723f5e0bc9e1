#!lua flags=no-writes
-- Token hash → namespace record in one round trip (every authenticated request makes it).
-- KEYS: 1 namespaces, 2 tokens. ARGV: 1 token hash. Reply: the record JSON or nil.
local name = redis.call('HGET', KEYS[2], ARGV[1])
if not name then return false end
return redis.call('HGET', KEYS[1], name)
