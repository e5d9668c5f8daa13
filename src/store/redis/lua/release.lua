-- release: make a blocked key available; an available key is left as it is.
-- KEYS: see prelude. ARGV[1] now|"", ARGV[2] key id. Returns the record, or nil when not found.
local id = ARGV[2]
if not live(id) then return nil end
if redis.call('ZSCORE', release, id) then unblock(id) end
return record(id)
