#!lua
-- Records one gateway's WebSocket connection count and returns the deployment's total. Each
-- report expires after a TTL on the Redis server clock, so a gateway that died without saying
-- goodbye stops counting within the TTL; expired reports are dropped by whoever reports next.
-- KEYS: 1 expiries (zset), 2 connections (hash). ARGV: 1 instance id, 2 count, 3 TTL ms.
-- Reply: the sum of the live reports.
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local ttl = tonumber(ARGV[3])
redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
if #expired > 0 then
  redis.call('ZREM', KEYS[1], unpack(expired))
  redis.call('HDEL', KEYS[2], unpack(expired))
end
local total = 0
for _, count in ipairs(redis.call('HVALS', KEYS[2])) do total = total + tonumber(count) end
-- When every gateway is gone, the keys go too.
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('PEXPIRE', KEYS[2], ttl)
return total
