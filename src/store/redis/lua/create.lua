-- create: a new available key.
-- KEYS: see prelude. ARGV[1] now|"", ARGV[2] key id, ARGV[3] its lifetime (ms), ARGV[4] max keys.
-- Answers the record; -1 when the pool is full; -2 when the id is taken (the caller draws another).
local id, lifetime, max_keys = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
if redis.call('ZCARD', expiry) >= max_keys then
  -- Expired keys still count until applied: the earliest, if its expiry has passed, makes room.
  local earliest = due(expiry, 1)
  if #earliest == 0 then return answer(-1) end
  expire(earliest[1], tonumber(earliest[2]))
end
if redis.call('ZSCORE', expiry, id) then return answer(-2) end
redis.call('ZADD', expiry, now + lifetime, id)
redis.call('HSET', created, id, now)
redis.call('HSET', ttl, id, lifetime)
redis.call('SADD', available, id)
freed_any = true
emit('CREATED', id, now)
return answer(record(id))
