-- Shared by every script (prepended at load time). One pool is these Redis keys:
--   KEYS[1]  expiry     ZSET   id -> expires_at (ms)             every key
--   KEYS[2]  release    ZSET   id -> end of lease or cooldown    leased and cooling keys
--   KEYS[3]  available  SET    id                                available keys
--   KEYS[4]  created    HASH   id -> created_at (ms)
--   KEYS[5]  blocked    HASH   id -> when the lease or cooldown began
--   KEYS[6]  sweeper    STRING the instance sweeping now, with a TTL (sweep.lua only)
--   KEYS[7]  ttl        HASH   id -> the key's lifetime (ms)
--   KEYS[8]  lease      HASH   id -> the current lease           leased keys only
--   KEYS[9]  hold       HASH   id -> the current hold's length   leased keys only
--   KEYS[10] seq        STRING the last lease handed out (INCR): leases only grow, across instances
--   KEYS[11] freed      a pub/sub channel: a message when keys became available (waiting acquires)
--   KEYS[12] revision   STRING the last event's revision (INCR): one more per event, across instances
--   KEYS[13] events     STREAM every key event, id "<revision>-0" (Watch); trimmed by sweep.lua
-- A leased key is in `release` and `lease`; a cooling one in `release` only; an available one in `available`.
-- ARGV[1] is "now" in ms, or "" to read Redis TIME: one clock for every instance.
-- Deadlines are absolute instants, so a restart of any instance renews nothing.
local expiry, release, available, created, blocked = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local sweeper, ttl, lease, hold, seq, freed = KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10], KEYS[11]
local revision, events_stream = KEYS[12], KEYS[13]

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
-- Release or keep-alive named a lease that is not the key's current one: nothing changed.
local LEASE_MISMATCH = -5

-- The key events this script makes, flat: kind, id, at, lease (-1: none), ... `at` is now
-- for a caller's change and the deadline itself for an automatic one. Every script answers
-- answer(result): {result or nil, events}, so the instance that ran it reports them; and
-- when keys became available it tells every instance once (waiting acquires). Each event
-- is also appended to the pool's stream under the next revision, in the same script as
-- the change: an event exists exactly when its change does, whichever instance made it.
local events = {}
local freed_any = false
local function emit(kind, id, at, which)
  local n = #events
  events[n + 1] = kind
  events[n + 2] = id
  events[n + 3] = at
  events[n + 4] = which or -1
  local rev = redis.call('INCR', revision)
  redis.call('XADD', events_stream, rev .. '-0', 't', kind, 'k', id, 'a', at, 'l', which or -1)
end

local function answer(result)
  if freed_any then redis.call('PUBLISH', freed, '1') end
  if result == nil then result = false end
  return {result, events}
end

local function remove(id)
  redis.call('ZREM', expiry, id)
  redis.call('ZREM', release, id)
  redis.call('SREM', available, id)
  redis.call('HDEL', created, id)
  redis.call('HDEL', blocked, id)
  redis.call('HDEL', ttl, id)
  redis.call('HDEL', lease, id)
  redis.call('HDEL', hold, id)
end

-- The key's lease or cooldown is over: it is available.
local function unblock(id)
  redis.call('ZREM', release, id)
  redis.call('HDEL', blocked, id)
  redis.call('HDEL', lease, id)
  redis.call('HDEL', hold, id)
  redis.call('SADD', available, id)
  freed_any = true
end

-- A lease or cooldown ended by time, at release_at.
local function auto_release(id, release_at)
  local ended = tonumber(redis.call('HGET', lease, id))
  unblock(id)
  emit('AUTO_RELEASED', id, release_at, ended)
end

-- A key whose expires_at passed is gone; a lease or cooldown of it that ended before was released first.
local function expire(id, expires_at)
  local release_at = redis.call('ZSCORE', release, id)
  if release_at and tonumber(release_at) < expires_at then auto_release(id, tonumber(release_at)) end
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
  redis.call('HDEL', ttl, unpack(ids))
  redis.call('HDEL', lease, unpack(ids))
  redis.call('HDEL', hold, unpack(ids))
end

local function unblock_all(ids)
  if #ids == 0 then return end
  redis.call('ZREM', release, unpack(ids))
  redis.call('HDEL', blocked, unpack(ids))
  redis.call('HDEL', lease, unpack(ids))
  redis.call('HDEL', hold, unpack(ids))
  redis.call('SADD', available, unpack(ids))
  freed_any = true
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

-- Applies at most `limit` passed lease and cooldown ends, earliest first; returns how many.
local function release_due(limit)
  local passed = due(release, limit)
  if #passed == 0 then return 0 end
  local ids = ids_of(passed)
  local leases = redis.call('HMGET', lease, unpack(ids))
  unblock_all(ids)
  for i = 1, #ids do emit('AUTO_RELEASED', ids[i], tonumber(passed[2 * i]), tonumber(leases[i]) or -1) end
  return #ids
end

-- Applies at most `limit` passed expiries, earliest first; returns how many.
local function expire_due(limit)
  local passed = due(expiry, limit)
  if #passed == 0 then return 0 end
  local ids = ids_of(passed)
  -- Leases and cooldowns that ended before their key expired were released first.
  local ends = redis.call('ZMSCORE', release, unpack(ids))
  local leases = redis.call('HMGET', lease, unpack(ids))
  for i = 1, #ids do
    local expires_at = tonumber(passed[2 * i])
    if ends[i] and tonumber(ends[i]) < expires_at then
      emit('AUTO_RELEASED', ids[i], tonumber(ends[i]), tonumber(leases[i]) or -1)
      freed_any = true
    end
  end
  remove_all(ids)
  for i = 1, #ids do emit('EXPIRED', ids[i], tonumber(passed[2 * i])) end
  return #ids
end

-- The key's expires_at if it still exists at `now`, with a passed lease or cooldown end applied; else nil.
local function live(id)
  local expires_at = redis.call('ZSCORE', expiry, id)
  if not expires_at then return nil end
  expires_at = tonumber(expires_at)
  if expires_at <= now then
    expire(id, expires_at)
    return nil
  end
  local release_at = redis.call('ZSCORE', release, id)
  if release_at and tonumber(release_at) <= now then auto_release(id, tonumber(release_at)) end
  return expires_at
end

-- The key's current lease, or nil when it is not leased.
local function lease_of(id)
  return tonumber(redis.call('HGET', lease, id))
end

-- {id, created_at, expires_at, blocked_at|-1, release_at|-1, state (1 available, 2 leased,
-- 3 cooling), ttl, lease|-1}: integers, no nils (they would cut the array).
local function record(id)
  local release_at = redis.call('ZSCORE', release, id)
  local blocked_at = redis.call('HGET', blocked, id)
  local current = lease_of(id)
  local state = 1
  if current then state = 2 elseif release_at then state = 3 end
  return {
    id,
    tonumber(redis.call('HGET', created, id)),
    tonumber(redis.call('ZSCORE', expiry, id)),
    blocked_at and tonumber(blocked_at) or -1,
    release_at and tonumber(release_at) or -1,
    state,
    tonumber(redis.call('HGET', ttl, id)),
    current or -1,
  }
end

-- Applies at most `budget` passed deadlines, lease and cooldown ends first; returns how many.
local function apply_due(budget)
  local released = release_due(budget)
  return released + expire_due(budget - released)
end
