/**
 * An indexed binary min-heap of small non-negative integer items (pool slots)
 * ordered by a float priority (a deadline in ms). Like etcd's lessor heap, the
 * index lets a deadline be moved or removed in O(log n) when a key is kept alive,
 * released or deleted, so the heap never holds stale entries.
 *
 * Layout is struct-of-arrays on typed arrays: no object per entry.
 */
export class IndexedMinHeap {
  /** heap[i] is the item at heap position i. */
  private heap: Int32Array;
  /** position[item] is the item's heap position, or -1 when absent. */
  private position: Int32Array;
  /** priority[item] is the item's priority; meaningful only while present. */
  private priority: Float64Array;
  private count = 0;

  constructor(initialCapacity = 16) {
    const capacity = Math.max(1, initialCapacity);
    this.heap = new Int32Array(capacity);
    this.position = new Int32Array(capacity).fill(-1);
    this.priority = new Float64Array(capacity);
  }

  get size(): number {
    return this.count;
  }

  has(item: number): boolean {
    return item < this.position.length && (this.position[item] as number) >= 0;
  }

  /** The item's priority; NaN when the item is absent. */
  priorityOf(item: number): number {
    return this.has(item) ? (this.priority[item] as number) : Number.NaN;
  }

  /** Inserts the item, or moves it to its new priority. O(log n). */
  set(item: number, priority: number): void {
    if (!Number.isInteger(item) || item < 0) throw new RangeError(`heap item must be a non-negative integer: ${item}`);
    if (Number.isNaN(priority)) throw new RangeError("heap priority must not be NaN");
    this.reserveItem(item);
    const at = this.position[item] as number;
    if (at < 0) {
      this.reserveSlots(this.count + 1);
      this.priority[item] = priority;
      this.heap[this.count] = item;
      this.position[item] = this.count;
      this.count += 1;
      this.siftUp(this.count - 1);
      return;
    }
    const before = this.priority[item] as number;
    this.priority[item] = priority;
    if (priority < before) this.siftUp(at);
    else this.siftDown(at);
  }

  /** Removes the item if present. O(log n). */
  delete(item: number): boolean {
    if (!this.has(item)) return false;
    const at = this.position[item] as number;
    const last = this.count - 1;
    this.position[item] = -1;
    this.count = last;
    if (at !== last) {
      const moved = this.heap[last] as number;
      this.heap[at] = moved;
      this.position[moved] = at;
      // The moved item may belong above or below its new place.
      this.siftUp(at);
      this.siftDown(this.position[moved] as number);
    }
    return true;
  }

  /** The item with the smallest priority, or -1 when empty. */
  peek(): number {
    return this.count > 0 ? (this.heap[0] as number) : -1;
  }

  /** The smallest priority, or +Infinity when empty. */
  peekPriority(): number {
    return this.count > 0 ? (this.priority[this.heap[0] as number] as number) : Number.POSITIVE_INFINITY;
  }

  /** Removes and returns the item with the smallest priority, or -1 when empty. */
  pop(): number {
    const top = this.peek();
    if (top >= 0) this.delete(top);
    return top;
  }

  private siftUp(start: number): void {
    const { heap, position, priority } = this;
    const item = heap[start] as number;
    const p = priority[item] as number;
    let at = start;
    while (at > 0) {
      const parentAt = (at - 1) >> 1;
      const parent = heap[parentAt] as number;
      if ((priority[parent] as number) <= p) break;
      heap[at] = parent;
      position[parent] = at;
      at = parentAt;
    }
    heap[at] = item;
    position[item] = at;
  }

  private siftDown(start: number): void {
    const { heap, position, priority, count } = this;
    const item = heap[start] as number;
    const p = priority[item] as number;
    let at = start;
    for (;;) {
      const left = 2 * at + 1;
      if (left >= count) break;
      const right = left + 1;
      let child = left;
      if (right < count && (priority[heap[right] as number] as number) < (priority[heap[left] as number] as number)) {
        child = right;
      }
      const childItem = heap[child] as number;
      if ((priority[childItem] as number) >= p) break;
      heap[at] = childItem;
      position[childItem] = at;
      at = child;
    }
    heap[at] = item;
    position[item] = at;
  }

  private reserveItem(item: number): void {
    if (item < this.position.length) return;
    const capacity = grownCapacity(this.position.length, item + 1);
    const position = new Int32Array(capacity).fill(-1);
    position.set(this.position);
    this.position = position;
    const priority = new Float64Array(capacity);
    priority.set(this.priority);
    this.priority = priority;
  }

  private reserveSlots(needed: number): void {
    if (needed <= this.heap.length) return;
    const heap = new Int32Array(grownCapacity(this.heap.length, needed));
    heap.set(this.heap);
    this.heap = heap;
  }
}

/** Doubling growth: amortised O(1) per insert. */
export function grownCapacity(current: number, needed: number): number {
  let capacity = Math.max(current, 16);
  while (capacity < needed) capacity *= 2;
  return capacity;
}
