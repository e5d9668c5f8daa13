-- Shared by every script (prepended at load time). One pool is six Redis keys:
--   KEYS[1] expiry     ZSET  id -> expires_at (ms)   every key
--   KEYS[2] release    ZSET  id -> release_at (ms)   blocked keys only
--   KEYS[3] available  SET   id                      available keys
--   KEYS[4] created    HASH  id -> created_at (ms)
--   KEYS[5] blocked    HASH  id -> blocked_at (ms)   blocked keys only
--   KEYS[6] sweeper    STRING the instance sweeping now, with a TTL (sweep.lua only)
-- ARGV[1] is "now" in ms, or "" to read Redis TIME: one clock for every instance.
-- Deadlines are absolute instants, so a restart of any instance renews nothing.
local expiry, release, available, created, blocked, sweeper = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]

local function clock(arg)
  if arg ~= '' then return tonumber(arg) end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local now = clock(ARGV[1])

-- Answer of a script that spent its budget of deadline work before its answer was
-- certain: nothing was handed out or refused, and the caller runs it again. Every
-- loop in every script is bounded, because a running script blocks the whole server.
local CATCHING_UP = -3

-- The key events this script makes, flat: kind, id, at, kind, id, at, ... `at` is now for a
-- caller's change and the deadline itself for an automatic one. Every script answers
-- answer(result): {result or nil, events}, so the instance that ran it reports them.
local events = {}
local function emit(kind, id, at)
  local n = #events
  events[n + 1] = kind
  events[n + 2] = id
  events[n + 3] = at
end

local function answer(result)
  if result == nil then result = false end
  return {result, events}
end

local function remove(id)
  redis.call('ZREM', expiry, id)
  redis.call('ZREM', release, id)
  redis.call('SREM', available, id)
  redis.call('HDEL', created, id)
  redis.call('HDEL', blocked, id)
end

local function unblock(id)
  redis.call('ZREM', release, id)
  redis.call('HDEL', blocked, id)
  redis.call('SADD', available, id)
end

-- A key whose expires_at passed is gone; a hold of it that ended before was released first.
local function expire(id, expires_at)
  local release_at = redis.call('ZSCORE', release, id)
  if release_at and tonumber(release_at) < expires_at then emit('AUTO_RELEASED', id, tonumber(release_at)) end
  remove(id)
  emit('EXPIRED', id, expires_at)
end

-- Batches: one command per structure for many ids (at most a budget, far below Lua's
-- 8000-argument limit), so applying a backlog costs a few commands, not a few per key.
local function remove_all(ids)
  if #ids == 0 then return end
  redis.call('ZREM', expiry, unpack(ids))
  redis.call('ZREM', release, unpack(ids))
  redis.call('SREM', available, unpack(ids))
  redis.call('HDEL', created, unpack(ids))
  redis.call('HDEL', blocked, unpack(ids))
end

local function unblock_all(ids)
  if #ids == 0 then return end
  redis.call('ZREM', release, unpack(ids))
  redis.call('HDEL', blocked, unpack(ids))
  redis.call('SADD', available, unpack(ids))
end

-- The members of a sorted set whose score (deadline) has passed, earliest first, at most
-- `limit`: {id, score, id, score, ...}.
local function due(zset, limit)
  if limit <= 0 then return {} end
  return redis.call('ZRANGEBYSCORE', zset, '-inf', now, 'WITHSCORES', 'LIMIT', 0, limit)
end

-- The ids of a due() answer.
local function ids_of(members)
  local ids = {}
  for i = 1, #members, 2 do ids[#ids + 1] = members[i] end
  return ids
end

-- Applies at most `limit` passed releases, earliest first; returns how many.
local function release_due(limit)
  local passed = due(release, limit)
  unblock_all(ids_of(passed))
  for i = 1, #passed, 2 do emit('AUTO_RELEASED', passed[i], tonumber(passed[i + 1])) end
  return #passed / 2
end

-- Applies at most `limit` passed expiries, earliest first; returns how many.
local function expire_due(limit)
  local passed = due(expiry, limit)
  if #passed == 0 then return 0 end
  local ids = ids_of(passed)
  -- Holds that ended before their key expired were released first.
  local holds = redis.call('ZMSCORE', release, unpack(ids))
  for i = 1, #ids do
    local expires_at = tonumber(passed[2 * i])
    if holds[i] and tonumber(holds[i]) < expires_at then emit('AUTO_RELEASED', ids[i], tonumber(holds[i])) end
  end
  remove_all(ids)
  for i = 1, #ids do emit('EXPIRED', ids[i], tonumber(passed[2 * i])) end
  return #ids
end

-- The key's expires_at if it still exists at `now`, with a passed release applied; else nil.
local function live(id)
  local expires_at = redis.call('ZSCORE', expiry, id)
  if not expires_at then return nil end
  expires_at = tonumber(expires_at)
  if expires_at <= now then
    expire(id, expires_at)
    return nil
  end
  local release_at = redis.call('ZSCORE', release, id)
  if release_at and tonumber(release_at) <= now then
    unblock(id)
    emit('AUTO_RELEASED', id, tonumber(release_at))
  end
  return expires_at
end

-- {id, created_at, expires_at, blocked_at or -1, release_at or -1}: integers, no nils (they would cut the array).
local function record(id)
  local release_at = redis.call('ZSCORE', release, id)
  local blocked_at = redis.call('HGET', blocked, id)
  return {
    id,
    tonumber(redis.call('HGET', created, id)),
    tonumber(redis.call('ZSCORE', expiry, id)),
    blocked_at and tonumber(blocked_at) or -1,
    release_at and tonumber(release_at) or -1,
  }
end

-- Applies at most `budget` passed deadlines, releases first; returns how many.
local function apply_due(budget)
  local released = release_due(budget)
  return released + expire_due(budget - released)
end
