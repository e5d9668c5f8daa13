-- acquire: block one available key chosen uniformly at random (SPOP).
-- KEYS: see prelude. ARGV[1] now|"", ARGV[2] block TTL (ms).
-- Returns the record, or nil when no key is available.
local block_ttl = tonumber(ARGV[2])
-- Keys whose release_at has passed are available now: apply those releases first.
for _, id in ipairs(redis.call('ZRANGEBYSCORE', release, '-inf', now)) do unblock(id) end
while true do
  local id = redis.call('SPOP', available)
  if not id then return nil end
  local expires_at = tonumber(redis.call('ZSCORE', expiry, id))
  if expires_at > now then
    redis.call('HSET', blocked, id, now)
    redis.call('ZADD', release, now + block_ttl, id)
    return {id, tonumber(redis.call('HGET', created, id)), expires_at, now, now + block_ttl}
  end
  -- Drawn an expired key: it is gone the instant its deadline passed. Drop it and draw again.
  remove(id)
end
