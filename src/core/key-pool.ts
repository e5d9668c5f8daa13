import type { Clock } from "./clock";
import { DomainError } from "./errors";
import type { KeyEventListener, KeyEventType } from "./events";
import { grownCapacity, IndexedMinHeap } from "./indexed-heap";
import { randomIdBytes } from "./key-id";
import { KeyIdTable } from "./key-id-table";

export interface PoolSettings {
  /** How long a key lives without a keep-alive (ms). */
  readonly keyTtlMs: number;
  /** How long an acquired key stays blocked unless released (ms). */
  readonly blockTtlMs: number;
  /** Most keys the pool holds at once; Create beyond it is capacity_exhausted. */
  readonly maxKeys: number;
  /**
   * Most passed deadlines one call applies (and, for Acquire, most expired keys it
   * draws and drops). Bounds the work of every call whatever the backlog; the
   * sweeper applies the rest in slices. Default DEADLINE_BUDGET.
   */
  readonly deadlineBudget?: number;
}

/** Default of PoolSettings.deadlineBudget: about a millisecond of work at most. */
export const DEADLINE_BUDGET = 1024;

/**
 * What Acquire answers when they spent their deadline budget before
 * their answer was certain (a backlog of passed deadlines larger than the budget):
 * nothing was handed out or refused; call again, after yielding, as the stores do.
 * Each such call applies a full budget, so the backlog shrinks with every retry.
 */
export const CATCHING_UP: unique symbol = Symbol("catching up");
export type CatchingUp = typeof CATCHING_UP;

/** What the pool knows of one key. Times are absolute, in ms since the epoch. */
export interface KeyRecord {
  readonly keyId: string;
  readonly createdAt: number;
  readonly expiresAt: number;
  /** Set while blocked. */
  readonly blockedAt: number | null;
  /** Set while blocked: when the key is released by time. */
  readonly releaseAt: number | null;
}

/** How many keys the pool holds, by state. */
export interface PoolCounts {
  readonly total: number;
  readonly available: number;
  readonly blocked: number;
  /** Released with a cooldown, available again at its end. */
  readonly cooling: number;
}

export interface PoolDependencies {
  /** Uniform in [0, 1): picks among available keys. Injected so tests can be deterministic. */
  readonly random?: () => number;
  /** Makes new key ids: canonical 128-bit base64url (22 characters), unguessable in production. */
  readonly newKeyId?: () => string;
  /** Told of every key event, automatic ones included (Watch, the key-activity log, metrics). */
  readonly onEvent?: KeyEventListener;
}

/**
 * The in-memory key pool and its lifecycle rules. Pure: no timers, no wall clock,
 * no transport. Every operation is O(1) or O(log n):
 *
 * - keys live in slots; per-slot fields are typed arrays (struct-of-arrays), and
 *   ids are 128-bit words in a hash table of our own (no string or Map entry per key);
 * - available keys sit in a dense array with swap-remove, so a uniform random
 *   pick is one index;
 * - expiry and release deadlines sit in two indexed min-heaps, updated in place
 *   on keep-alive/release/delete, so no stale deadline can ever fire.
 *
 * Deadlines are applied lazily where a caller could observe them (the touched
 * key, or the available set for Acquire) and eagerly by `expireDue`, which a
 * single scheduler outside the core calls in bounded slices. No call applies more
 * than `deadlineBudget` of them, so a storm of deadlines on one millisecond never
 * stalls a caller: Acquire answers CATCHING_UP instead of working on.
 */
// Field offsets within a slot's four entries of `times`.
const CREATED = 0;
const EXPIRES = 1;
const BLOCKED = 2;
const RELEASE = 3;

export class KeyPool {
  private readonly ids = new KeyIdTable();
  /** A stack of freed slots, as big as the slot arrays: freeing a slot never allocates (an expiry storm frees 1e6). */
  private freeSlots = new Int32Array(16);
  private freeCount = 0;
  /** Slots handed out so far (live or free). */
  private slotCount = 0;
  /**
   * times[4 * slot + CREATED | EXPIRES | BLOCKED | RELEASE]: one slot's instants side by
   * side, so a read touches one cache line; BLOCKED and RELEASE are NaN while available.
   * The heaps hold the same deadlines in deadline order, for the sweeper.
   */
  private times = new Float64Array(4 * 16);
  /** availableAt[slot] is the slot's index in `available`, or -1. */
  private availableAt = new Int32Array(16).fill(-1);
  private available = new Int32Array(16);
  private availableCount = 0;
  /** Every key, by expires_at. */
  private readonly expiry = new IndexedMinHeap();
  /** Blocked keys only, by release_at. */
  private readonly releases = new IndexedMinHeap();
  private readonly random: () => number;
  private readonly newKeyId: (() => string) | undefined;
  private readonly onEvent: KeyEventListener | undefined;
  private readonly budget: number;

  constructor(
    private readonly clock: Clock,
    private readonly settings: PoolSettings,
    dependencies: PoolDependencies = {},
  ) {
    this.random = dependencies.random ?? Math.random;
    this.newKeyId = dependencies.newKeyId;
    this.onEvent = dependencies.onEvent;
    this.budget = settings.deadlineBudget ?? DEADLINE_BUDGET;
    if (!Number.isInteger(this.budget) || this.budget < 1) throw new RangeError("deadlineBudget must be a whole number ≥ 1");
  }

  /** Keys held, including any whose deadline passed but that no operation or sweep has applied yet. */
  get size(): number {
    return this.ids.size;
  }

  /** Held keys by state; O(1). A key whose deadline passed counts as before until it is applied. */
  counts(): PoolCounts {
    return { total: this.ids.size, available: this.availableCount, blocked: this.releases.size, cooling: 0 };
  }

  /**
   * A new available key. At maxKeys, expired keys still count until applied: the
   * earliest of them, if its expiry has passed, makes room (O(log n)); otherwise refused.
   */
  create(): KeyRecord {
    const now = this.clock.now();
    if (this.ids.size >= this.settings.maxKeys) {
      if (this.expiry.peekPriority() > now) {
        throw new DomainError("capacity_exhausted", `the pool holds its maximum of ${this.settings.maxKeys} keys`);
      }
      this.expire(this.expiry.peek());
    }
    const slot = this.allocateSlot();
    let keyId: string;
    try {
      keyId = this.addId(slot);
    } catch (error) {
      this.freeSlot(slot); // a refused injected id must not leak the slot
      throw error;
    }
    const at = 4 * slot;
    this.times[at + CREATED] = now;
    this.times[at + BLOCKED] = Number.NaN;
    this.times[at + RELEASE] = Number.NaN;
    this.setExpiry(slot, now + this.settings.keyTtlMs);
    this.makeAvailable(slot);
    this.onEvent?.({ type: "CREATED", keyId, at: now });
    return this.record(slot, keyId);
  }

  /**
   * Blocks one available key chosen uniformly at random and returns its record.
   *
   * First it applies up to a budget of passed releases, earliest first, so keys
   * whose hold ended join the draw. While a larger backlog of passed releases
   * waits (a release storm), the draw is uniform over the keys already available;
   * the rest join, earliest first, a budget per call and per sweeper slice.
   * An expired key drawn is dropped and the draw repeated, up to a budget of drops;
   * past it the answer is CATCHING_UP, never an expired key and never a wrong
   * "none available".
   */
  acquire(): KeyRecord | CatchingUp {
    const now = this.clock.now();
    for (let budget = this.budget; budget > 0 && this.releases.peekPriority() <= now; budget -= 1) {
      this.autoRelease(this.releases.peek());
    }
    let drops = this.budget;
    while (this.availableCount > 0) {
      const slot = this.available[Math.floor(this.random() * this.availableCount)] as number;
      // An expired key is gone the instant its deadline passes: drop it and draw again.
      // Each draw that drops a key is work that expiry owed anyway.
      if ((this.times[4 * slot + EXPIRES] as number) <= now) {
        this.expire(slot);
        drops -= 1;
        if (drops === 0) return CATCHING_UP;
        continue;
      }
      this.makeUnavailable(slot);
      this.times[4 * slot + BLOCKED] = now;
      this.times[4 * slot + RELEASE] = now + this.settings.blockTtlMs;
      this.releases.set(slot, now + this.settings.blockTtlMs);
      const keyId = this.ids.keyIdOf(slot);
      this.onEvent?.({ type: "ACQUIRED", keyId, at: now });
      return this.record(slot, keyId);
    }
    // Nothing available: certain only when no passed release is still waiting to be applied.
    if (this.releases.peekPriority() <= now) return CATCHING_UP;
    throw new DomainError("no_available_key", "no key is available");
  }

  get(keyId: string): KeyRecord {
    return this.record(this.liveSlot(keyId), keyId);
  }

  /** Makes a blocked key available; an available key is left as it is. */
  release(keyId: string): KeyRecord {
    const slot = this.liveSlot(keyId);
    if (!Number.isNaN(this.times[4 * slot + RELEASE] as number)) {
      this.unblock(slot);
      this.onEvent?.({ type: "RELEASED", keyId, at: this.clock.now() });
    }
    return this.record(slot, keyId);
  }

  /** Pushes expires_at to now + KEY_TTL. Does not unblock. */
  keepAlive(keyId: string): KeyRecord {
    const slot = this.liveSlot(keyId);
    const now = this.clock.now();
    this.setExpiry(slot, now + this.settings.keyTtlMs);
    this.onEvent?.({ type: "KEPT_ALIVE", keyId, at: now });
    return this.record(slot, keyId);
  }

  delete(keyId: string): void {
    this.removeSlot(this.liveSlot(keyId));
    this.onEvent?.({ type: "DELETED", keyId, at: this.clock.now() });
  }

  /**
   * Applies at most `budget` deadlines that have passed, earliest first, and
   * returns how many it applied. The scheduler calls this in slices and yields
   * between them, so a storm of expiries never stalls the event loop.
   */
  expireDue(budget: number): number {
    const now = this.clock.now();
    let applied = 0;
    while (applied < budget) {
      const expiresAt = this.expiry.peekPriority();
      const releaseAt = this.releases.peekPriority();
      if (expiresAt <= now && expiresAt <= releaseAt) {
        this.expire(this.expiry.peek());
      } else if (releaseAt <= now) {
        this.autoRelease(this.releases.peek());
      } else {
        break;
      }
      applied += 1;
    }
    return applied;
  }

  /** The earliest pending deadline (ms), or +Infinity when there is none. */
  nextDeadline(): number {
    return Math.min(this.expiry.peekPriority(), this.releases.peekPriority());
  }

  /** A new id for the slot: 128 CSPRNG bits, or the injected generator's. A repeat draws again. */
  private addId(slot: number): string {
    const { newKeyId } = this;
    if (newKeyId === undefined) return this.ids.addRandom(slot, randomIdBytes);
    let keyId = newKeyId();
    while (!this.ids.add(slot, keyId)) keyId = newKeyId();
    return keyId;
  }

  /** The slot of a key that still exists at `now`, with its passed release applied. */
  private liveSlot(keyId: string): number {
    const slot = this.ids.find(keyId);
    if (slot < 0) throw new DomainError("not_found", "key not found");
    const now = this.clock.now();
    if ((this.times[4 * slot + EXPIRES] as number) <= now) {
      this.expire(slot);
      throw new DomainError("not_found", "key not found");
    }
    if ((this.times[4 * slot + RELEASE] as number) <= now) this.autoRelease(slot);
    return slot;
  }

  /** A hold ended by time: the key is available again, as of its release_at. */
  private autoRelease(slot: number): void {
    const releaseAt = this.times[4 * slot + RELEASE] as number;
    this.unblock(slot);
    this.emitAt("AUTO_RELEASED", slot, releaseAt);
  }

  /**
   * A key whose expires_at passed is gone. If a hold of it ended before that, the key
   * was released first (AUTO_RELEASED at release_at), then expired (at expires_at).
   */
  private expire(slot: number): void {
    const at = 4 * slot;
    const expiresAt = this.times[at + EXPIRES] as number;
    if ((this.times[at + RELEASE] as number) < expiresAt) this.autoRelease(slot);
    const keyId = this.onEvent === undefined ? "" : this.ids.keyIdOf(slot);
    this.removeSlot(slot);
    this.onEvent?.({ type: "EXPIRED", keyId, at: expiresAt });
  }

  /** An event about a slot, its id spelled only when someone listens. */
  private emitAt(type: KeyEventType, slot: number, at: number): void {
    if (this.onEvent !== undefined) this.onEvent({ type, keyId: this.ids.keyIdOf(slot), at });
  }

  private setExpiry(slot: number, expiresAt: number): void {
    this.times[4 * slot + EXPIRES] = expiresAt;
    this.expiry.set(slot, expiresAt);
  }

  private unblock(slot: number): void {
    this.releases.delete(slot);
    this.times[4 * slot + BLOCKED] = Number.NaN;
    this.times[4 * slot + RELEASE] = Number.NaN;
    this.makeAvailable(slot);
  }

  private record(slot: number, keyId: string): KeyRecord {
    const { times } = this;
    const at = 4 * slot;
    const releaseAt = times[at + RELEASE] as number;
    const blocked = !Number.isNaN(releaseAt);
    return {
      keyId,
      createdAt: times[at + CREATED] as number,
      expiresAt: times[at + EXPIRES] as number,
      blockedAt: blocked ? (times[at + BLOCKED] as number) : null,
      releaseAt: blocked ? releaseAt : null,
    };
  }

  private makeAvailable(slot: number): void {
    if ((this.availableAt[slot] as number) >= 0) return;
    if (this.availableCount === this.available.length) {
      this.available = grow(this.available, this.availableCount + 1);
    }
    this.available[this.availableCount] = slot;
    this.availableAt[slot] = this.availableCount;
    this.availableCount += 1;
  }

  /** Swap-remove from the dense available array: O(1). */
  private makeUnavailable(slot: number): void {
    const at = this.availableAt[slot] as number;
    if (at < 0) return;
    const last = this.availableCount - 1;
    const moved = this.available[last] as number;
    this.available[at] = moved;
    this.availableAt[moved] = at;
    this.availableAt[slot] = -1;
    this.availableCount = last;
  }

  private removeSlot(slot: number): void {
    this.makeUnavailable(slot);
    this.expiry.delete(slot);
    this.releases.delete(slot);
    this.ids.remove(slot);
    this.freeSlot(slot);
  }

  private freeSlot(slot: number): void {
    this.freeSlots[this.freeCount] = slot;
    this.freeCount += 1;
  }

  private allocateSlot(): number {
    if (this.freeCount > 0) {
      this.freeCount -= 1;
      return this.freeSlots[this.freeCount] as number;
    }
    const slot = this.slotCount;
    this.slotCount += 1;
    if (4 * slot + 4 > this.times.length) this.times = grow(this.times, 4 * slot + 4);
    if (slot >= this.availableAt.length) this.availableAt = grow(this.availableAt, slot + 1, -1);
    // Room for every slot ever made to be free at once, grown with the slots themselves.
    if (slot >= this.freeSlots.length) this.freeSlots = grow(this.freeSlots, slot + 1);
    return slot;
  }
}

function grow<T extends Float64Array | Int32Array>(array: T, needed: number, fill = 0): T {
  const bigger = new (array.constructor as new (length: number) => T)(grownCapacity(array.length, needed));
  if (fill !== 0) bigger.fill(fill);
  bigger.set(array);
  return bigger;
}
