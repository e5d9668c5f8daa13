-- release: make a blocked key available; an available key is left as it is.
-- KEYS: see prelude. ARGV[1] now|"", ARGV[2] key id. Answers the record, or nil when not found.
local id = ARGV[2]
if not live(id) then return answer(nil) end
if redis.call('ZSCORE', release, id) then
  unblock(id)
  emit('RELEASED', id, now)
end
return answer(record(id))
