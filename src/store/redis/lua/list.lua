-- list: one page of the pool, by ZSCAN over `expiry` (every key): a key present for the
-- whole walk appears at least once (SCAN's guarantee), and a page looks at about `count`
-- keys, whatever the filter. The deadlines of the keys it looks at are applied first.
-- KEYS: see prelude. ARGV[1] now|"", ARGV[2] cursor ("0" to start), ARGV[3] count,
-- ARGV[4] state (1 available, 2 leased, 3 cooling; "" for any).
-- Answers {next cursor ("0" at the end), record, record, ...}.
local cursor, count, wanted = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local scanned = redis.call('ZSCAN', expiry, cursor, 'COUNT', count)
local page = {scanned[1]}
local members = scanned[2]
for i = 1, #members, 2 do
  local id = members[i]
  if live(id) then
    local entry = record(id)
    if not wanted or entry[6] == wanted then page[#page + 1] = entry end
  end
end
return answer(page)
