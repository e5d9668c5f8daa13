-- get: the key's record.
-- KEYS: see prelude. ARGV[1] now|"", ARGV[2] key id. Returns the record, or nil when not found.
local id = ARGV[2]
if not live(id) then return nil end
return record(id)
