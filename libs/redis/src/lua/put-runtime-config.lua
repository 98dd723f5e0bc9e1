#!lua
-- Replaces the whole config. KEYS: 1 config. ARGV: 1 channel, 2.. field, JSON pairs.
-- Reply: the stored hash as [field, JSON, ...].
redis.call('DEL', KEYS[1])
if #ARGV > 1 then redis.call('HSET', KEYS[1], unpack(ARGV, 2)) end
