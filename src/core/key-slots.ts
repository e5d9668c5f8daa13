import { grownCapacity } from "./indexed-heap";

/** A slot's state. FREE: no key in it. */
export const FREE = 0;
export const AVAILABLE = 1;
export const LEASED = 2;
export const COOLING = 3;
export type SlotState = typeof FREE | typeof AVAILABLE | typeof LEASED | typeof COOLING;

/**
 * The per-slot fields, side by side in one Float64Array: a slot's fields are read
 * together, from one or two cache lines (56 bytes: not padded to 64, which would
 * cost 8 bytes a key, 7% of the pool's memory, for a rare second line).
 */
/** When the key was created; NaN while the slot is free. */
export const CREATED = 0;
export const EXPIRES = 1;
/** When the lease or cooldown began; NaN while available. */
export const BLOCKED = 2;
/** When the lease or cooldown ends; NaN while available. */
export const RELEASE = 3;
/** The key's lifetime (ms): what KeepAlive renews to. */
export const TTL = 4;
/** The current hold's length (ms): what KeepAlive with the lease renews it by. NaN unless leased. */
export const HOLD = 5;
/** The current lease number; NaN unless leased. */
export const LEASE = 6;
const FIELDS = 7;

/**
 * The pool's storage, struct-of-arrays on typed arrays (no object per key): per-slot
 * instants and numbers, a stack of free slots, and the available keys in a dense array
 * with swap-remove, so a uniform random pick is one index. Every method is O(1)
 * (amortised for growth); it knows no rules, only where things are.
 *
 * A slot's state is read from its fields, not kept beside them: free (no CREATED),
 * leased (a LEASE), cooling (a RELEASE without a lease), else available. The fields are
 * read anyway, and in a pool larger than the cache a separate state array was one more
 * miss on every call.
 */
export class KeySlots {
  fields = new Float64Array(FIELDS * 16).fill(Number.NaN);
  /** Slots handed out so far (in use or free): slots [0, slotCount) exist. */
  slotCount = 0;
  private free = new Int32Array(16);
  private freeCount = 0;
  /** availableAt[slot] is the slot's index in `available`, or -1. */
  private availableAt = new Int32Array(16).fill(-1);
  private available = new Int32Array(16);
  availableCount = 0;

  get(slot: number, field: number): number {
    return this.fields[FIELDS * slot + field] as number;
  }

  set(slot: number, field: number, value: number): void {
    this.fields[FIELDS * slot + field] = value;
  }

  stateOf(slot: number): SlotState {
    const { fields } = this;
    const base = FIELDS * slot;
    if (!((fields[base + LEASE] as number) >= 0)) {
      // No lease (NaN): cooling while a release instant is set, else available or free.
      if ((fields[base + RELEASE] as number) >= 0) return COOLING;
      return (fields[base + CREATED] as number) >= 0 ? AVAILABLE : FREE;
    }
    return LEASED;
  }

  /** A slot for a new key: a freed one if any (its fields are the caller's to set). */
  allocate(): number {
    if (this.freeCount > 0) {
      this.freeCount -= 1;
      return this.free[this.freeCount] as number;
    }
    const slot = this.slotCount;
    this.slotCount += 1;
    if (FIELDS * slot + FIELDS > this.fields.length) this.fields = grow(this.fields, FIELDS * slot + FIELDS, Number.NaN);
    if (slot >= this.availableAt.length) this.availableAt = grow(this.availableAt, slot + 1, -1);
    // Room for every slot ever made to be free at once, grown with the slots: freeing never allocates.
    if (slot >= this.free.length) this.free = grow(this.free, slot + 1);
    return slot;
  }

  /** The slot is free again (its fields read as free until a key is created in it). */
  release(slot: number): void {
    this.makeUnavailable(slot);
    this.fields.fill(Number.NaN, FIELDS * slot, FIELDS * slot + FIELDS);
    this.free[this.freeCount] = slot;
    this.freeCount += 1;
  }

  /** A uniformly random index into the available keys (`random` in [0, 1)); `availableSlotAt` names its slot. */
  pickAvailable(random: number): number {
    return Math.floor(random * this.availableCount);
  }

  availableSlotAt(index: number): number {
    return this.available[index] as number;
  }

  /**
   * Takes the slot at `index` of the available keys out (swap-remove), its index known
   * from the pick: `availableAt` is written, not read. In a pool larger than the cache,
   * each read of it is a miss that the call waits for; a write is not waited for.
   */
  takeAvailableAt(index: number, slot: number): void {
    const last = this.availableCount - 1;
    const moved = this.available[last] as number;
    this.available[index] = moved;
    this.availableAt[moved] = index;
    this.availableAt[slot] = -1;
    this.availableCount = last;
  }

  /**
   * Adds a slot that is not among the available keys (a new key, or one whose lease or
   * cooldown just ended; its fields must say available). Its index is written, not read (see takeAvailableAt).
   */
  addAvailable(slot: number): void {
    if (this.availableCount === this.available.length) this.available = grow(this.available, this.availableCount + 1);
    this.available[this.availableCount] = slot;
    this.availableAt[slot] = this.availableCount;
    this.availableCount += 1;
  }

  /** Swap-remove from the dense available array, if the slot is there: O(1). The caller sets the new state. */
  private makeUnavailable(slot: number): void {
    const at = this.availableAt[slot] as number;
    if (at >= 0) this.takeAvailableAt(at, slot);
  }
}

type Growable = Float64Array | Int32Array;

/** A copy of `array` with room for at least `needed` entries (doubling: amortised O(1)). */
export function grow<T extends Growable>(array: T, needed: number, fill = 0): T {
  const bigger = new (array.constructor as new (length: number) => T)(grownCapacity(array.length, needed));
  if (fill !== 0) bigger.fill(fill);
  bigger.set(array);
  return bigger;
}
