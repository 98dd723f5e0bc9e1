#!lua flags=no-writes
-- A hash as a flat [field, value, ...] array. ioredis turns HGETALL replies into objects by
-- assignment; going through a script keeps the raw array, so `__proto__` stays a field.
return redis.call('HGETALL', KEYS[1])
