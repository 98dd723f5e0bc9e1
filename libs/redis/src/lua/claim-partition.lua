#!lua
-- Takes ownership of a partition: bumps its epoch (fencing every older owner).
local epoch = redis.call('HINCRBY', KEYS[1], 'epoch', 1)
local offset = redis.call('HGET', KEYS[1], 'offset')
return {epoch, offset or '-1'}
