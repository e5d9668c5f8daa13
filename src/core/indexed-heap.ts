const ARITY_SHIFT = 2; // log2 of the arity

/** The heap position of the parent of position `at` (> 0). */
const parentOf = (at: number): number => (at - 1) >> ARITY_SHIFT;

/**
 * An indexed 4-ary min-heap of small non-negative integer items (pool slots)
 * ordered by a float priority (a deadline in ms). Like etcd's lessor heap, the
 * index lets a deadline be moved or removed in O(log n) when a key is kept alive,
 * released or deleted, so the heap never holds stale entries.
 *
 * Layout is struct-of-arrays on typed arrays: no object per entry. Priorities sit
 * beside their items in heap order, so a sift compares neighbours without a
 * second random memory access per level.
 *
 * Four children a node, not two: the heap is half as deep (10 levels for a million
 * entries, not 20), and a node's four children's priorities are 32 adjacent bytes, about
 * one cache line, so a sift-down reads as many lines per level as a binary heap does
 * while every level it skips saves a line read and a write to `position` at a random
 * item, a cache miss in a large pool.
 */
export class IndexedMinHeap {
  /** heap[i] is the item at heap position i. */
  private heap: Int32Array;
  /** priority[i] is the priority of heap[i]. */
  private priority: Float64Array;
  /** position[item] is the item's heap position, or -1 when absent. */
  private position: Int32Array;
  private count = 0;

  constructor(initialCapacity = 16) {
    const capacity = Math.max(1, initialCapacity);
    this.heap = new Int32Array(capacity);
    this.priority = new Float64Array(capacity);
    this.position = new Int32Array(capacity).fill(-1);
  }

  get size(): number {
    return this.count;
  }

  has(item: number): boolean {
    return item < this.position.length && (this.position[item] as number) >= 0;
  }

  /** The item's priority; NaN when the item is absent. */
  priorityOf(item: number): number {
    const at = item < this.position.length ? (this.position[item] as number) : -1;
    return at >= 0 ? (this.priority[at] as number) : Number.NaN;
  }

  /** Inserts the item, or moves it to its new priority. O(log n). */
  set(item: number, priority: number): void {
    checkEntry(item, priority);
    this.reserveItem(item);
    const at = this.position[item] as number;
    if (at < 0) {
      this.reserveSlots(this.count + 1);
      this.count += 1;
      this.siftUp(this.count - 1, item, priority);
      return;
    }
    if (priority < (this.priority[at] as number)) this.siftUp(at, item, priority);
    else this.siftDown(at, item, priority);
  }

  /**
   * Inserts an item that is not in the heap (the caller knows it): its position is
   * written, not read, which in a large heap saves a cache miss the call would wait for. O(log n).
   */
  insert(item: number, priority: number): void {
    checkEntry(item, priority);
    this.reserveItem(item);
    this.reserveSlots(this.count + 1);
    this.count += 1;
    this.siftUp(this.count - 1, item, priority);
  }

  /** Removes the item if present. O(log n). */
  delete(item: number): boolean {
    if (!this.has(item)) return false;
    this.removeAt(this.position[item] as number, item);
    return true;
  }

  /** Removes and returns the item with the smallest priority, or -1 when empty: its position (the root) is not read. */
  pop(): number {
    if (this.count === 0) return -1;
    const top = this.heap[0] as number;
    this.removeAt(0, top);
    return top;
  }

  /** Removes `item`, at heap position `at`. */
  private removeAt(at: number, item: number): void {
    const last = this.count - 1;
    this.position[item] = -1;
    this.count = last;
    if (at !== last) {
      // The last item fills the hole; it may belong above or below it.
      const moved = this.heap[last] as number;
      const movedPriority = this.priority[last] as number;
      const parentAt = parentOf(at);
      if (at > 0 && movedPriority < (this.priority[parentAt] as number)) this.siftUp(at, moved, movedPriority);
      else this.siftDown(at, moved, movedPriority);
    }
  }

  /** The item with the smallest priority, or -1 when empty. */
  peek(): number {
    return this.count > 0 ? (this.heap[0] as number) : -1;
  }

  /** The smallest priority, or +Infinity when empty. */
  peekPriority(): number {
    return this.count > 0 ? (this.priority[0] as number) : Number.POSITIVE_INFINITY;
  }

  /** Places `item` with priority `p` at or above heap position `start`. */
  private siftUp(start: number, item: number, p: number): void {
    const { heap, position, priority } = this;
    let at = start;
    while (at > 0) {
      const parentAt = parentOf(at);
      const parentPriority = priority[parentAt] as number;
      if (parentPriority <= p) break;
      const parent = heap[parentAt] as number;
      heap[at] = parent;
      priority[at] = parentPriority;
      position[parent] = at;
      at = parentAt;
    }
    heap[at] = item;
    priority[at] = p;
    position[item] = at;
  }

  /** Places `item` with priority `p` at or below heap position `start`. */
  private siftDown(start: number, item: number, p: number): void {
    const { heap, position, priority, count } = this;
    let at = start;
    for (;;) {
      const first = (at << ARITY_SHIFT) + 1;
      if (first >= count) break;
      const end = Math.min(first + (1 << ARITY_SHIFT), count);
      let child = first;
      let childPriority = priority[first] as number;
      for (let next = first + 1; next < end; next += 1) {
        const nextPriority = priority[next] as number;
        if (nextPriority < childPriority) {
          child = next;
          childPriority = nextPriority;
        }
      }
      if (childPriority >= p) break;
      const childItem = heap[child] as number;
      heap[at] = childItem;
      priority[at] = childPriority;
      position[childItem] = at;
      at = child;
    }
    heap[at] = item;
    priority[at] = p;
    position[item] = at;
  }

  private reserveItem(item: number): void {
    if (item < this.position.length) return;
    const capacity = grownCapacity(this.position.length, item + 1);
    const position = new Int32Array(capacity).fill(-1);
    position.set(this.position);
    this.position = position;
  }

  private reserveSlots(needed: number): void {
    if (needed <= this.heap.length) return;
    const capacity = grownCapacity(this.heap.length, needed);
    const heap = new Int32Array(capacity);
    heap.set(this.heap);
    this.heap = heap;
    const priority = new Float64Array(capacity);
    priority.set(this.priority);
    this.priority = priority;
  }
}

function checkEntry(item: number, priority: number): void {
  if (!Number.isInteger(item) || item < 0) throw new RangeError(`heap item must be a non-negative integer: ${item}`);
  if (Number.isNaN(priority)) throw new RangeError("heap priority must not be NaN");
}

/** Doubling growth: amortised O(1) per insert. */
export function grownCapacity(current: number, needed: number): number {
  let capacity = Math.max(current, 16);
  while (capacity < needed) capacity *= 2;
  return capacity;
}
