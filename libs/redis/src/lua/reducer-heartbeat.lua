#!lua
-- Renews (or starts) one reducer's membership lease, on the Redis server clock, and answers
-- the live members. Leases that ran out are dropped by whoever beats next.
-- KEYS: 1 members (zset), 2 addresses (hash). ARGV: 1 member id, 2 address, 3 lease ms.
-- Reply: {continuous (1 when the member's lease had not run out), id, address, id, address, ...}.
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local previous = redis.call('ZSCORE', KEYS[1], ARGV[1])
local continuous = 0
if previous and tonumber(previous) > now then continuous = 1 end
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
if #expired > 0 then
  redis.call('ZREM', KEYS[1], unpack(expired))
  redis.call('HDEL', KEYS[2], unpack(expired))
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
local reply = { continuous }
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  reply[#reply + 1] = id
  reply[#reply + 1] = redis.call('HGET', KEYS[2], id) or ''
end
return reply
