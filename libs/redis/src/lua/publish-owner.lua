#!lua
-- Records a partition's owner unless the map holds a newer claim for it.
-- KEYS: 1 map (hash). ARGV: 1 partition, 2 owner JSON, 3 the owner's claim epoch.
-- Reply: 1 when recorded, 0 when a newer epoch is there.
local current = redis.call('HGET', KEYS[1], ARGV[1])
if current then
  local ok, entry = pcall(cjson.decode, current)
  if ok and type(entry) == 'table' and tonumber(entry.epoch) and tonumber(entry.epoch) > tonumber(ARGV[3]) then return 0 end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
