#!lua
-- Removes a partition's map entry if it is still the given member's claim at the given epoch.
-- KEYS: 1 map (hash). ARGV: 1 partition, 2 member id, 3 epoch. Reply: 1 when removed.
local current = redis.call('HGET', KEYS[1], ARGV[1])
if not current then return 0 end
local ok, entry = pcall(cjson.decode, current)
if ok and type(entry) == 'table' and entry.memberId == ARGV[2] and tonumber(entry.epoch) == tonumber(ARGV[3]) then
  redis.call('HDEL', KEYS[1], ARGV[1])
  return 1
end
return 0
