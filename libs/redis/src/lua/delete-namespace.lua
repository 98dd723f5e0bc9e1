#!lua
-- Deletes a namespace and its token index entry together, so its token stops working at once.
-- cjson only decodes here (a string field is read); nothing is re-encoded.
-- KEYS: 1 namespaces, 2 tokens. ARGV: 1 name. Reply: 1 deleted, 0 unknown.
local json = redis.call('HGET', KEYS[1], ARGV[1])
if not json then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
local ok, record = pcall(cjson.decode, json)
if ok and type(record) == 'table' and type(record['tokenHash']) == 'string'
   and redis.call('HGET', KEYS[2], record['tokenHash']) == ARGV[1] then
  redis.call('HDEL', KEYS[2], record['tokenHash'])
end
return 1
