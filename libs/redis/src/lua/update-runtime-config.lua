#!lua
-- Merges a partial update into the stored config atomically: fields not in the update keep
-- what any other gateway wrote, so two concurrent updates of different keys both survive.
-- Fields missing from the store are first filled from the caller's base (HSETNX).
-- KEYS: 1 config. ARGV: 1 channel, 2 #base pairs, then base pairs, then update pairs.
-- Reply: the stored hash as [field, JSON, ...].
local nBase = tonumber(ARGV[2])
local at = 3
for i = at, at + 2 * nBase - 1, 2 do redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1]) end
at = at + 2 * nBase
if #ARGV >= at then redis.call('HSET', KEYS[1], unpack(ARGV, at)) end
