-- delete: the key is gone, blocked or not.
-- KEYS: see prelude. ARGV[1] now|"", ARGV[2] key id. Answers 1, or nil when not found.
local id = ARGV[2]
if not live(id) then return answer(nil) end
remove(id)
emit('DELETED', id, now)
return answer(1)
