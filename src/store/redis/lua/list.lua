-- list: one page of the pool, by ZSCAN over `expiry` (every key). ZSCAN's COUNT is only
-- a hint (a small set, stored as a listpack, comes back whole), so a page takes the batch
-- of one cursor in member order and stops at `count`; the token then names that cursor
-- again and the last member looked at, and the next page resumes after it in the same
-- batch. A key present for the whole walk appears at least once (SCAN's guarantee: each
-- batch is read to its end before the cursor moves on), a page holds at most `count`
-- keys, and the work is one batch. The deadlines of the keys it looks at are applied first.
-- KEYS: see prelude. ARGV[1] now|"", ARGV[2] cursor ("0" to start), ARGV[3] resume after
-- this member of the cursor's batch ("" from its start), ARGV[4] count, ARGV[5] state
-- (1 available, 2 leased, 3 cooling; "" for any).
-- Answers {next cursor, resume-after member ("" to start the next cursor's batch),
-- record, record, ...}; cursor "0" with "" is the end of the walk.
local cursor, after, count, wanted = ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local scanned = redis.call('ZSCAN', expiry, cursor, 'COUNT', count)
local members = {}
for i = 1, #scanned[2], 2 do
  local id = scanned[2][i]
  if id > after then members[#members + 1] = id end
end
table.sort(members)
local page = {scanned[1], ''}
local looked = 0
for _, id in ipairs(members) do
  if looked == count then
    -- The batch is not done: the next page reads this cursor again, after the last one looked at.
    page[1], page[2] = cursor, members[looked]
    break
  end
  looked = looked + 1
  if live(id) then
    local entry = record(id)
    if not wanted or entry[6] == wanted then page[#page + 1] = entry end
  end
end
return answer(page)
