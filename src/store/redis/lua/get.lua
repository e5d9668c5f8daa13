-- get: the key's record.
-- KEYS: see prelude. ARGV[1] now|"", ARGV[2] key id. Answers the record, or nil when not found.
local id = ARGV[2]
if not live(id) then return answer(nil) end
return answer(record(id))
