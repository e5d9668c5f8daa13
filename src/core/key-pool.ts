import type { Clock } from "./clock";
import { DomainError } from "./errors";
import type { KeyEventListener, KeyEventType } from "./events";
import { IndexedMinHeap } from "./indexed-heap";
import { randomIdBytes } from "./key-id";
import { KeyIdTable } from "./key-id-table";
import { BLOCKED, COOLING, CREATED, EXPIRES, FREE, HOLD, KeySlots, LEASE, LEASED, RELEASE, TTL } from "./key-slots";

export interface PoolSettings {
  /** A key's lifetime when Create names none (ms). */
  readonly keyTtlMs: number;
  /** A hold's length when Acquire names none (ms). */
  readonly blockTtlMs: number;
  /** Most keys the pool holds at once; Create beyond it is capacity_exhausted. */
  readonly maxKeys: number;
  /** Longest lifetime Create may ask for (ms); longer is clamped. Default MAX_KEY_TTL_MS. */
  readonly maxKeyTtlMs?: number;
  /** Longest hold or cooldown a caller may ask for (ms); longer is clamped. Default MAX_BLOCK_TTL_MS. */
  readonly maxBlockTtlMs?: number;
  /**
   * Most passed deadlines one call applies (and, for Acquire, most expired keys it
   * draws and drops). Bounds the work of every call whatever the backlog; the
   * sweeper applies the rest in slices. Default DEADLINE_BUDGET.
   */
  readonly deadlineBudget?: number;
  /** How many recent events the pool's history keeps for Watch. Default WATCH_RETENTION. */
  readonly watchRetention?: number;
}

/** Default of PoolSettings.watchRetention: etcd-like, a window a reconnecting watcher can resume in. */
export const WATCH_RETENTION = 10_000;

/** Default of PoolSettings.deadlineBudget: about a millisecond of work at most. */
export const DEADLINE_BUDGET = 1024;
/** The shortest lifetime or hold a caller may ask for: shorter ones are clamped up to it. */
export const MIN_ASKED_TTL_MS = 1000;
export const MAX_KEY_TTL_MS = 24 * 3_600_000;
export const MAX_BLOCK_TTL_MS = 3_600_000;

/**
 * What Acquire answers when it spent its deadline budget before its answer was
 * certain (a backlog of passed deadlines larger than the budget): nothing was
 * handed out or refused; call again, after yielding, as the stores do. Each such
 * call applies a full budget, so the backlog shrinks with every retry.
 */
export const CATCHING_UP: unique symbol = Symbol("catching up");
export type CatchingUp = typeof CATCHING_UP;

export type KeyState = "available" | "leased" | "cooling";

/** What the pool knows of one key. Times are absolute, in ms since the epoch. */
export interface KeyRecord {
  readonly keyId: string;
  readonly createdAt: number;
  readonly expiresAt: number;
  /** Set while leased or cooling: when that began. */
  readonly blockedAt: number | null;
  /** Set while leased or cooling: when it ends by itself. */
  readonly releaseAt: number | null;
  readonly state: KeyState;
  /** The key's lifetime (ms): what KeepAlive renews to. */
  readonly ttlMs: number;
  /** The current lease, while leased. */
  readonly lease: number | null;
}

/** How many keys the pool holds, by state. */
export interface PoolCounts {
  readonly total: number;
  readonly available: number;
  readonly leased: number;
  readonly cooling: number;
}

/** One page of List: the records, and where the next page starts (null: none). */
export interface ListPage {
  readonly records: readonly KeyRecord[];
  readonly next: number | null;
}

export interface PoolDependencies {
  /** Uniform in [0, 1): picks among available keys. Injected so tests can be deterministic. */
  readonly random?: () => number;
  /** Makes new key ids: canonical 128-bit base64url (22 characters), unguessable in production. */
  readonly newKeyId?: () => string;
  /** Told of every key event, automatic ones included (Watch, the key-activity log, metrics). */
  readonly onEvent?: KeyEventListener;
}

/** Where a slot sits in the release heap, when a caller knows: at its top, or anywhere (looked up). */
const ON_TOP = 0;
const ANYWHERE = 1;
type Filed = typeof ON_TOP | typeof ANYWHERE;

const STATE_NAMES: readonly (KeyState | undefined)[] = [undefined, "available", "leased", "cooling"];

/**
 * The in-memory key pool and its lifecycle rules. Pure: no timers, no wall clock,
 * no transport. Every operation is O(1) or O(log n):
 *
 * - keys live in slots (KeySlots: struct-of-arrays, no object per key), ids are
 *   128-bit words in a hash table of our own (no string or Map entry per key);
 * - available keys sit in a dense array, so a uniform random pick is one index;
 * - expiry deadlines and lease/cooldown ends sit in two indexed min-heaps, removed in
 *   place on release/delete; a keep-alive leaves its key filed at the earlier deadline
 *   (a lower bound), re-filed when that comes due, so no deadline fires early or late;
 *   the deadlines of different lifetimes and holds mix freely in them;
 * - what a call knows of where a slot sits is not looked up: an available key is never
 *   in the release heap, a leased or cooling one never among the available keys, a new
 *   one in neither, so Acquire, Create and the end of a hold write those indexes without
 *   reading them first (in a pool larger than the cache, each read is a miss to wait for).
 *
 * A key is AVAILABLE, LEASED (held under a lease number, the fencing token, larger
 * than every lease before it) or COOLING (released with a cooldown, available by
 * itself at its end). Deadlines are applied lazily where a caller could observe them
 * (the touched key, or the available set for Acquire) and eagerly by `expireDue`,
 * which a single scheduler outside the core calls in bounded slices. No call
 * applies more than `deadlineBudget` of them: Acquire answers CATCHING_UP instead.
 */
export class KeyPool {
  private readonly ids = new KeyIdTable();
  private readonly slots = new KeySlots();
  /** Every key, by expires_at. */
  private readonly expiry = new IndexedMinHeap();
  /** Leased and cooling keys, by the end of their lease or cooldown. */
  private readonly releases = new IndexedMinHeap();
  private coolingCount = 0;
  /** The last lease handed out: leases only grow. */
  private lastLease = 0;
  private readonly random: () => number;
  private readonly newKeyId: (() => string) | undefined;
  private readonly onEvent: KeyEventListener | undefined;
  private readonly budget: number;
  /**
   * Deadline work done so far, by any call (a count that only grows): passed deadlines
   * applied, and early heap entries re-filed (see `fileLater`). What a call cost in
   * deadline work is the difference across it.
   */
  deadlineWork = 0;
  private readonly maxKeyTtlMs: number;
  private readonly maxBlockTtlMs: number;

  constructor(
    private readonly clock: Clock,
    private readonly settings: PoolSettings,
    dependencies: PoolDependencies = {},
  ) {
    this.random = dependencies.random ?? Math.random;
    this.newKeyId = dependencies.newKeyId;
    this.onEvent = dependencies.onEvent;
    this.budget = settings.deadlineBudget ?? DEADLINE_BUDGET;
    ({ maxKeyTtlMs: this.maxKeyTtlMs, maxBlockTtlMs: this.maxBlockTtlMs } = limitsOf(settings));
    if (!Number.isInteger(this.budget) || this.budget < 1) throw new RangeError("deadlineBudget must be a whole number ≥ 1");
  }

  /** Keys held, including any whose deadline passed but that no operation or sweep has applied yet. */
  get size(): number {
    return this.ids.size;
  }

  /** Held keys by state; O(1). A key whose deadline passed counts as before until it is applied. */
  counts(): PoolCounts {
    return {
      total: this.ids.size,
      available: this.slots.availableCount,
      leased: this.releases.size - this.coolingCount,
      cooling: this.coolingCount,
    };
  }

  /**
   * A new available key, living `ttlMs` (default keyTtlMs; clamped to [1 s, maxKeyTtlMs]).
   * At maxKeys, expired keys still count until applied: the earliest of them, if its
   * expiry has passed, makes room (O(log n)); otherwise refused. Heap entries filed
   * early (keys kept alive since) are re-filed on the way, at most `budget` of them (at
   * most the pool's): past it, with a passed deadline still filed, the answer is
   * CATCHING_UP (nothing made, call again after yielding), never a wrong capacity_exhausted.
   */
  create(ttlMs?: number, budget = this.budget): KeyRecord | CatchingUp {
    const ttl = granted(ttlMs, this.settings.keyTtlMs, this.maxKeyTtlMs, "ttl");
    const now = this.clock.now();
    if (this.ids.size >= this.settings.maxKeys && this.makeRoom(now, Math.min(budget, this.budget)) === CATCHING_UP) return CATCHING_UP;
    const slot = this.slots.allocate();
    let keyId: string;
    try {
      keyId = this.addId(slot);
    } catch (error) {
      this.slots.release(slot); // a refused injected id must not leak the slot
      throw error;
    }
    const { slots } = this;
    slots.set(slot, CREATED, now);
    slots.set(slot, TTL, ttl);
    this.clearHold(slot);
    slots.set(slot, EXPIRES, now + ttl);
    this.expiry.insert(slot, now + ttl); // a new key: not filed yet
    slots.addAvailable(slot);
    this.onEvent?.({ type: "CREATED", keyId, at: now });
    return this.record(slot, keyId);
  }

  /**
   * Leases one available key chosen uniformly at random, for `blockTtlMs` (default
   * blockTtlMs; clamped to [1 s, maxBlockTtlMs]), under a new lease number.
   *
   * First it applies up to a budget of passed lease and cooldown ends, earliest
   * first, so those keys join the draw. While a larger backlog waits (a release
   * storm), the draw is uniform over the keys already available; the rest join,
   * earliest first, a budget per call and per sweeper slice. An expired key drawn is
   * dropped and the draw repeated, up to a budget of drops; past it the answer is
   * CATCHING_UP, never an expired key and never a wrong "none available".
   * `budget` (at most the pool's): a smaller one for a call whose event-loop turn has
   * spent its deadline work already; 0 applies no release and answers CATCHING_UP at
   * the first expired key drawn.
   */
  acquire(blockTtlMs?: number, budget = this.budget): KeyRecord | CatchingUp {
    const hold = granted(blockTtlMs, this.settings.blockTtlMs, this.maxBlockTtlMs, "block_ttl");
    const now = this.clock.now();
    for (let left = Math.min(budget, this.budget); left > 0 && this.releases.peekPriority() <= now; left -= 1) {
      const slot = this.releases.peek();
      if (!this.refiled(this.releases, slot, RELEASE)) this.autoRelease(slot, ON_TOP);
    }
    const { slots } = this;
    let drops = Math.min(budget, this.budget);
    while (slots.availableCount > 0) {
      const index = slots.pickAvailable(this.random());
      const slot = slots.availableSlotAt(index);
      // An expired key is gone the instant its deadline passes: drop it and draw again.
      // Each draw that drops a key is work that expiry owed anyway.
      if (slots.get(slot, EXPIRES) <= now) {
        this.expire(slot);
        drops -= 1;
        if (drops <= 0) return CATCHING_UP;
        continue;
      }
      slots.takeAvailableAt(index, slot);
      this.lastLease += 1;
      slots.set(slot, BLOCKED, now);
      slots.set(slot, HOLD, hold);
      slots.set(slot, LEASE, this.lastLease);
      slots.set(slot, RELEASE, now + hold);
      this.releases.insert(slot, now + hold); // it was available: not filed there
      const keyId = this.ids.keyIdOf(slot);
      this.onEvent?.({ type: "ACQUIRED", keyId, at: now, lease: this.lastLease });
      return this.record(slot, keyId);
    }
    // Nothing available: certain only when no passed release is still waiting to be applied.
    if (this.releases.peekPriority() <= now) return CATCHING_UP;
    throw new DomainError("no_available_key", "no key is available");
  }

  get(keyId: string): KeyRecord {
    return this.record(this.liveSlot(keyId), keyId);
  }

  /**
   * Ends the key's lease: available at once, or COOLING for `cooldownMs` (clamped to
   * maxBlockTtlMs) first. A key that is not leased is left as it is. With `lease`,
   * the call applies only to that lease: any other (or none) is lease_mismatch, and
   * nothing changes.
   */
  release(keyId: string, lease?: number, cooldownMs?: number): KeyRecord {
    const cooldown = grantedCooldown(cooldownMs, this.maxBlockTtlMs);
    const slot = this.liveSlot(keyId);
    this.checkLease(slot, lease);
    const { slots } = this;
    if (slots.stateOf(slot) === LEASED) {
      const now = this.clock.now();
      const ended = slots.get(slot, LEASE);
      if (cooldown > 0) {
        this.coolingCount += 1;
        slots.set(slot, BLOCKED, now);
        slots.set(slot, HOLD, Number.NaN);
        slots.set(slot, LEASE, Number.NaN);
        this.setRelease(slot, now + cooldown);
        this.onEvent?.({ type: "COOLDOWN_STARTED", keyId, at: now, lease: ended });
      } else {
        this.unblock(slot);
        this.onEvent?.({ type: "RELEASED", keyId, at: now, lease: ended });
      }
    }
    return this.record(slot, keyId);
  }

  /**
   * Pushes expires_at to now + the key's lifetime. It does not end a lease or a
   * cooldown. With `lease`, it applies only to that lease (else lease_mismatch,
   * nothing changed) and renews the hold too: release_at = now + the hold's length.
   */
  keepAlive(keyId: string, lease?: number): KeyRecord {
    const slot = this.liveSlot(keyId);
    this.checkLease(slot, lease);
    const { slots } = this;
    const now = this.clock.now();
    // Both deadlines only move later here: filed lazily (see `fileLater`).
    fileLater(this.expiry, slots, slot, EXPIRES, now + slots.get(slot, TTL));
    if (lease !== undefined) fileLater(this.releases, slots, slot, RELEASE, now + slots.get(slot, HOLD));
    const current = slots.stateOf(slot) === LEASED ? slots.get(slot, LEASE) : undefined;
    this.onEvent?.(current === undefined ? { type: "KEPT_ALIVE", keyId, at: now } : { type: "KEPT_ALIVE", keyId, at: now, lease: current });
    return this.record(slot, keyId);
  }

  delete(keyId: string): void {
    this.removeSlot(this.liveSlot(keyId));
    this.onEvent?.({ type: "DELETED", keyId, at: this.clock.now() });
  }

  /**
   * One page of the pool, in slot order from `cursor` (0 for the first page): at most
   * `pageSize` records in `state` (any state when undefined), looking at no more than
   * `pageSize` slots, so a page costs O(page_size) whatever the filter; the page may
   * then hold fewer records, even none, while `next` says where to go on. A key keeps
   * its slot for its whole life, so one present for the whole walk appears exactly once.
   * The deadlines of the keys it looks at are applied first, as for any read.
   */
  list(cursor: number, pageSize: number, state?: KeyState): ListPage {
    const { slots } = this;
    const records: KeyRecord[] = [];
    const end = Math.min(slots.slotCount, cursor + pageSize);
    const now = this.clock.now();
    for (let slot = cursor; slot < end; slot += 1) {
      if (slots.stateOf(slot) === FREE) continue;
      if (slots.get(slot, EXPIRES) <= now) {
        this.expire(slot);
        continue;
      }
      if (slots.get(slot, RELEASE) <= now) this.autoRelease(slot);
      if (state === undefined || STATE_NAMES[slots.stateOf(slot)] === state) records.push(this.record(slot, this.ids.keyIdOf(slot)));
    }
    return { records, next: end < slots.slotCount ? end : null };
  }

  /**
   * Does at most `budget` units of deadline work, earliest first: applies deadlines
   * that have passed, and re-files entries that came due early (keys kept alive since
   * they were filed). Returns the work done. The scheduler calls this in slices and
   * yields between them, so a storm of expiries never stalls the event loop.
   */
  expireDue(budget: number): number {
    const now = this.clock.now();
    let work = 0;
    while (work < budget) {
      const expiresAt = this.expiry.peekPriority();
      const releaseAt = this.releases.peekPriority();
      if (expiresAt <= now && expiresAt <= releaseAt) {
        const slot = this.expiry.peek();
        if (!this.refiled(this.expiry, slot, EXPIRES)) this.expire(slot);
      } else if (releaseAt <= now) {
        const slot = this.releases.peek();
        if (!this.refiled(this.releases, slot, RELEASE)) this.autoRelease(slot, ON_TOP);
      } else {
        break;
      }
      work += 1;
    }
    return work;
  }

  /**
   * The earliest filed deadline (ms), or +Infinity when there is none: a lower bound of
   * the next one (a key kept alive stays filed at its earlier deadline until then).
   */
  nextDeadline(): number {
    return Math.min(this.expiry.peekPriority(), this.releases.peekPriority());
  }

  /**
   * The earliest filed end of a lease or cooldown (ms): a lower bound of when a key may
   * next become available by itself (exact unless a hold was renewed since).
   */
  nextRelease(): number {
    return this.releases.peekPriority();
  }

  /** A new id for the slot: 128 CSPRNG bits, or the injected generator's. A repeat draws again. */
  private addId(slot: number): string {
    const { newKeyId } = this;
    if (newKeyId === undefined) return this.ids.addRandom(slot, randomIdBytes);
    let keyId = newKeyId();
    while (!this.ids.add(slot, keyId)) keyId = newKeyId();
    return keyId;
  }

  /** The slot of a key that still exists at `now`, with its passed lease or cooldown end applied. */
  private liveSlot(keyId: string): number {
    const slot = this.ids.find(keyId);
    if (slot < 0) throw new DomainError("not_found", "key not found");
    const now = this.clock.now();
    if (this.slots.get(slot, EXPIRES) <= now) {
      this.expire(slot);
      throw new DomainError("not_found", "key not found");
    }
    if (this.slots.get(slot, RELEASE) <= now) this.autoRelease(slot);
    return slot;
  }

  private checkLease(slot: number, lease: number | undefined): void {
    if (lease === undefined) return;
    if (this.slots.stateOf(slot) !== LEASED || this.slots.get(slot, LEASE) !== lease) {
      throw new DomainError("lease_mismatch", "the lease is not the key's current lease");
    }
  }

  /**
   * At capacity, the earliest expired key makes room. Keys filed early (kept alive since)
   * are re-filed on the way, at most `budget` of them: past it, while a filed deadline has
   * still passed, CATCHING_UP (a key may have expired behind those entries); with no
   * deadline passed, the pool is full.
   */
  private makeRoom(now: number, budget: number): CatchingUp | undefined {
    for (let left = budget; left > 0 && this.expiry.peekPriority() <= now; left -= 1) {
      const slot = this.expiry.peek();
      if (!this.refiled(this.expiry, slot, EXPIRES)) {
        this.expire(slot);
        return undefined;
      }
    }
    if (this.expiry.peekPriority() <= now) return CATCHING_UP;
    throw new DomainError("capacity_exhausted", `the pool holds its maximum of ${this.settings.maxKeys} keys`);
  }

  /**
   * Whether the top of `heap`, `slot`, was filed earlier than its true deadline (its
   * `field`): then it is re-filed there, as one unit of deadline work, and nothing is due.
   */
  private refiled(heap: IndexedMinHeap, slot: number, field: typeof EXPIRES | typeof RELEASE): boolean {
    const deadline = this.slots.get(slot, field);
    if (deadline === heap.peekPriority()) return false;
    heap.set(slot, deadline);
    this.deadlineWork += 1;
    return true;
  }

  /**
   * A lease or cooldown ended by time: the key is available again, as of that end.
   * `filed`: ON_TOP when the slot is the release heap's top (the deadline loops), which
   * is then popped without looking its position up.
   */
  private autoRelease(slot: number, filed: Filed = ANYWHERE): void {
    this.deadlineWork += 1;
    const { slots } = this;
    const releaseAt = slots.get(slot, RELEASE);
    const lease = slots.get(slot, LEASE);
    this.unblock(slot, filed);
    if (this.onEvent !== undefined) {
      const keyId = this.ids.keyIdOf(slot);
      this.onEvent(Number.isNaN(lease) ? { type: "AUTO_RELEASED", keyId, at: releaseAt } : { type: "AUTO_RELEASED", keyId, at: releaseAt, lease });
    }
  }

  /**
   * A key whose expires_at passed is gone. If its lease or cooldown ended before
   * that, it was released first (AUTO_RELEASED at that end), then expired.
   */
  private expire(slot: number): void {
    this.deadlineWork += 1;
    const expiresAt = this.slots.get(slot, EXPIRES);
    if (this.slots.get(slot, RELEASE) < expiresAt) this.autoRelease(slot);
    const keyId = this.onEvent === undefined ? "" : this.ids.keyIdOf(slot);
    this.removeSlot(slot);
    this.emit("EXPIRED", keyId, expiresAt);
  }

  private emit(type: KeyEventType, keyId: string, at: number): void {
    this.onEvent?.({ type, keyId, at });
  }

  private setRelease(slot: number, releaseAt: number): void {
    this.slots.set(slot, RELEASE, releaseAt);
    this.releases.set(slot, releaseAt);
  }

  private clearHold(slot: number): void {
    const { slots } = this;
    slots.set(slot, BLOCKED, Number.NaN);
    slots.set(slot, RELEASE, Number.NaN);
    slots.set(slot, HOLD, Number.NaN);
    slots.set(slot, LEASE, Number.NaN);
  }

  /** The key becomes available: its lease or cooldown is over (so it was not among the available keys). */
  private unblock(slot: number, filed: Filed = ANYWHERE): void {
    if (this.slots.stateOf(slot) === COOLING) this.coolingCount -= 1;
    if (filed === ON_TOP) this.releases.pop();
    else this.releases.delete(slot);
    this.clearHold(slot);
    this.slots.addAvailable(slot);
  }

  private record(slot: number, keyId: string): KeyRecord {
    const { slots } = this;
    const state = slots.stateOf(slot);
    const blocked = state === LEASED || state === COOLING;
    return {
      keyId,
      createdAt: slots.get(slot, CREATED),
      expiresAt: slots.get(slot, EXPIRES),
      blockedAt: blocked ? slots.get(slot, BLOCKED) : null,
      releaseAt: blocked ? slots.get(slot, RELEASE) : null,
      state: STATE_NAMES[state] ?? "available",
      ttlMs: slots.get(slot, TTL),
      lease: state === LEASED ? slots.get(slot, LEASE) : null,
    };
  }

  private removeSlot(slot: number): void {
    if (this.slots.stateOf(slot) === COOLING) this.coolingCount -= 1;
    this.expiry.delete(slot);
    this.releases.delete(slot);
    this.ids.remove(slot);
    this.slots.release(slot);
  }
}

/**
 * Moves a filed deadline later (a keep-alive), lazily: the slot's field takes the new
 * instant, and its heap entry stays at the earlier one, a lower bound, re-filed at the true
 * one only when it comes due (`refiled`). In a large heap a later deadline sifts a random
 * entry down towards the bottom, a cache miss per level; this way a keep-alive writes one
 * field, and a key kept alive many times is re-filed at most once per lifetime that passes
 * (as etcd's lessor checks a lease's true expiry when its heap entry comes due). Every
 * other change (a new key or hold, a cooldown, a removal) is filed at once.
 */
function fileLater(heap: IndexedMinHeap, slots: KeySlots, slot: number, field: typeof EXPIRES | typeof RELEASE, deadline: number): void {
  // An entry is never filed later than its slot's deadline, so one no later than this one
  // needs no look at the heap (whose position and priority arrays are two more cache misses).
  const filedNoLater = slots.get(slot, field) <= deadline;
  slots.set(slot, field, deadline);
  if (!filedNoLater && !(heap.priorityOf(slot) <= deadline)) heap.set(slot, deadline); // not filed, or filed later: at once
}

/**
 * The lifetime or hold granted for one asked (ms): the default when none was asked,
 * else clamped to [1 s, max]; a negative one (or not a number) is invalid_argument.
 * Every store grants by this one rule.
 */
export function granted(asked: number | undefined, fallback: number, max: number, field: string): number {
  if (asked === undefined) return fallback;
  if (!Number.isFinite(asked) || asked < 0) throw new DomainError("invalid_argument", `${field} must be a duration of 0 or more`);
  return Math.min(Math.max(asked, MIN_ASKED_TTL_MS), max);
}

/** The cooldown granted for one asked (ms): 0 (none) when none or zero, else at most max; negative is invalid. */
export function grantedCooldown(asked: number | undefined, max: number): number {
  if (asked === undefined || asked === 0) return 0;
  if (!Number.isFinite(asked) || asked < 0) throw new DomainError("invalid_argument", "cooldown must be a duration of 0 or more");
  return Math.min(asked, max);
}

/** The limits of a pool's settings, defaults filled in. */
export function limitsOf(settings: PoolSettings): { readonly maxKeyTtlMs: number; readonly maxBlockTtlMs: number } {
  return { maxKeyTtlMs: settings.maxKeyTtlMs ?? MAX_KEY_TTL_MS, maxBlockTtlMs: settings.maxBlockTtlMs ?? MAX_BLOCK_TTL_MS };
}
