import { expect } from "chai";
import fc from "fast-check";
import { grownCapacity, IndexedMinHeap } from "../../src/core/indexed-heap";

/** Pops everything; a heap whose invariant holds yields non-decreasing priorities. */
function drain(heap: IndexedMinHeap): { item: number; priority: number }[] {
  const out: { item: number; priority: number }[] = [];
  while (heap.size > 0) {
    const priority = heap.peekPriority();
    const item = heap.pop();
    out.push({ item, priority });
  }
  return out;
}

describe("IndexedMinHeap", () => {
  it("is empty at first: size 0, peek -1, peekPriority +Infinity, pop -1", () => {
    const heap = new IndexedMinHeap();
    expect(heap.size).to.equal(0);
    expect(heap.peek()).to.equal(-1);
    expect(heap.peekPriority()).to.equal(Number.POSITIVE_INFINITY);
    expect(heap.pop()).to.equal(-1);
    expect(heap.has(0)).to.equal(false);
    expect(heap.priorityOf(0)).to.be.NaN;
  });

  it("pops items in priority order", () => {
    const heap = new IndexedMinHeap();
    [50, 10, 40, 20, 30].forEach((priority, item) => heap.set(item, priority));
    expect(heap.size).to.equal(5);
    expect(heap.peek()).to.equal(1);
    expect(heap.peekPriority()).to.equal(10);
    expect(drain(heap).map((e) => e.item)).to.deep.equal([1, 3, 4, 2, 0]);
  });

  it("moves an item when set again (earlier and later), without duplicating it", () => {
    const heap = new IndexedMinHeap();
    heap.set(0, 10);
    heap.set(1, 20);
    heap.set(2, 30);
    heap.set(2, 5); // moved up
    expect(heap.peek()).to.equal(2);
    heap.set(2, 100); // moved down: a kept-alive deadline must not stay at the front
    expect(heap.size).to.equal(3);
    expect(heap.priorityOf(2)).to.equal(100);
    expect(drain(heap).map((e) => e.item)).to.deep.equal([0, 1, 2]);
  });

  it("deletes from the middle and the end, and reports absence", () => {
    const heap = new IndexedMinHeap();
    for (let item = 0; item < 10; item += 1) heap.set(item, 100 - item);
    expect(heap.delete(5)).to.equal(true);
    expect(heap.delete(5)).to.equal(false);
    expect(heap.delete(0)).to.equal(true); // the last (largest) one
    expect(heap.delete(999)).to.equal(false); // beyond capacity
    expect(heap.has(5)).to.equal(false);
    expect(heap.priorityOf(5)).to.be.NaN;
    expect(drain(heap).map((e) => e.item)).to.deep.equal([9, 8, 7, 6, 4, 3, 2, 1]);
  });

  it("grows for items far beyond the initial capacity", () => {
    const heap = new IndexedMinHeap(1);
    heap.set(1000, 3);
    heap.set(0, 2);
    heap.set(70, 1);
    expect(heap.has(1000)).to.equal(true);
    expect(heap.priorityOf(1000)).to.equal(3);
    expect(drain(heap).map((e) => e.item)).to.deep.equal([70, 0, 1000]);
  });

  it("rejects negative or fractional items and NaN priorities", () => {
    const heap = new IndexedMinHeap();
    expect(() => heap.set(-1, 1)).to.throw(RangeError);
    expect(() => heap.set(1.5, 1)).to.throw(RangeError);
    expect(() => heap.set(1, Number.NaN)).to.throw(RangeError);
    expect(() => heap.insert(-1, 1)).to.throw(RangeError);
    expect(() => heap.insert(1.5, 1)).to.throw(RangeError);
    expect(() => heap.insert(1, Number.NaN)).to.throw(RangeError);
    expect(heap.size).to.equal(0);
  });

  it("inserts an absent item, growing for one far beyond the initial capacity", () => {
    const heap = new IndexedMinHeap(1);
    heap.insert(1000, 3);
    heap.insert(0, 2);
    heap.insert(70, 1);
    expect(heap.priorityOf(1000)).to.equal(3);
    expect(drain(heap).map((e) => e.item)).to.deep.equal([70, 0, 1000]);
  });

  it("moves the last item up when a delete leaves it below a larger parent", () => {
    // Four children a node. Heap by position (inserted in this order, nothing moves):
    // [0 | 10, 1, 2, 3 | 11, 12, 13, 14 (under the 10) | 5 (under the 1)]. Deleting the 11
    // puts the 5 under the 10, where it must sift up. Three more under the 1 keep it from
    // becoming the last item before the 10 pops (a pop moves the last item to the root,
    // a sift that would hide a missed one); left under the 10, it would pop after it.
    const heap = new IndexedMinHeap();
    [0, 10, 1, 2, 3, 11, 12, 13, 14, 5].forEach((priority, item) => heap.set(item, priority));
    heap.delete(5);
    [20, 21, 22].forEach((priority, i) => heap.set(10 + i, priority));
    expect(heap.pop()).to.equal(0);
    expect(drain(heap).map((e) => e.priority)).to.deep.equal([1, 2, 3, 5, 10, 12, 13, 14, 20, 21, 22]);
  });

  it("drains in order after deleting an arbitrary subset", () => {
    // Deletes from inside the heap are where a missed sift shows; draining reveals it.
    fc.assert(
      fc.property(
        // A narrow priority range makes the shapes that need a sift after delete common.
        fc.array(fc.tuple(fc.integer({ min: -5, max: 5 }), fc.boolean()), { maxLength: 60, size: "max" }),
        (entries) => {
          const heap = new IndexedMinHeap(2);
          entries.forEach(([priority], item) => heap.set(item, priority));
          entries.forEach(([, remove], item) => remove && heap.delete(item));
          const kept = entries.filter(([, remove]) => !remove).map(([priority]) => priority);
          expect(heap.size).to.equal(kept.length);
          expect(drain(heap).map((e) => e.priority)).to.deep.equal(kept.sort((a, b) => a - b));
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("matches a reference model over random set/delete/pop/peek sequences", () => {
    // Items go up to 200 while the heap starts at capacity 4, so growth is exercised.
    const item = fc.integer({ min: 0, max: 200 });
    // Few distinct priorities on purpose: ties are where heaps go wrong.
    const priority = fc.integer({ min: -20, max: 20 });
    const command = fc.oneof(
      { arbitrary: fc.record({ op: fc.constant("set" as const), item, priority }), weight: 4 },
      // insert is for an item the caller knows is absent: the model only inserts those.
      { arbitrary: fc.record({ op: fc.constant("insert" as const), item, priority }), weight: 2 },
      { arbitrary: fc.record({ op: fc.constant("delete" as const), item }), weight: 2 },
      { arbitrary: fc.record({ op: fc.constant("pop" as const) }), weight: 1 },
      { arbitrary: fc.record({ op: fc.constant("peek" as const) }), weight: 1 },
    );
    fc.assert(
      // size "max": lengths spread up to 300. fast-check's default size keeps arrays to a few
      // commands, heaps too shallow for a four-way heap's missed sift-up to show (5,000 runs
      // of it did not find one that this finds in every run).
      fc.property(fc.array(command, { maxLength: 300, size: "max" }), (commands) => {
        const heap = new IndexedMinHeap(4);
        const model = new Map<number, number>();
        const modelMin = () => Math.min(...model.values()); // +Infinity when empty
        for (const c of commands) {
          switch (c.op) {
            case "set":
              heap.set(c.item, c.priority);
              model.set(c.item, c.priority);
              break;
            case "insert":
              if (model.has(c.item)) break;
              heap.insert(c.item, c.priority);
              model.set(c.item, c.priority);
              break;
            case "delete":
              expect(heap.delete(c.item)).to.equal(model.delete(c.item));
              break;
            case "pop": {
              const min = modelMin();
              const popped = heap.pop();
              if (model.size === 0) {
                expect(popped).to.equal(-1);
              } else {
                // Any item holding the minimal priority is a correct answer.
                expect(model.get(popped)).to.equal(min);
                model.delete(popped);
              }
              break;
            }
            case "peek": {
              const peeked = heap.peek();
              expect(heap.peekPriority()).to.equal(modelMin());
              if (model.size === 0) expect(peeked).to.equal(-1);
              else expect(model.get(peeked)).to.equal(modelMin());
              break;
            }
          }
          expect(heap.size).to.equal(model.size);
          expect(heap.peekPriority()).to.equal(modelMin());
        }
        for (let i = 0; i <= 201; i += 1) {
          expect(heap.has(i)).to.equal(model.has(i));
          const expected = model.get(i);
          if (expected === undefined) expect(heap.priorityOf(i)).to.be.NaN;
          else expect(heap.priorityOf(i)).to.equal(expected);
        }
        // Draining checks the heap shape indirectly: priorities come out sorted,
        // each item once, with the priority the model holds for it.
        const drained = drain(heap);
        const sorted = [...model.values()].sort((a, b) => a - b);
        expect(drained.map((e) => e.priority)).to.deep.equal(sorted);
        for (const e of drained) expect(model.get(e.item)).to.equal(e.priority);
        expect(new Set(drained.map((e) => e.item)).size).to.equal(model.size);
      }),
      { numRuns: 300 },
    );
  });
});

describe("grownCapacity", () => {
  it("never goes below 16", () => {
    expect(grownCapacity(0, 1)).to.equal(16);
    expect(grownCapacity(1, 2)).to.equal(16);
  });

  it("keeps the current capacity when it already suffices", () => {
    expect(grownCapacity(16, 16)).to.equal(16);
    expect(grownCapacity(64, 10)).to.equal(64);
  });

  it("doubles until the need is met", () => {
    expect(grownCapacity(16, 17)).to.equal(32);
    expect(grownCapacity(16, 1001)).to.equal(1024);
    expect(grownCapacity(20, 100)).to.equal(160);
  });

  it("always returns at least the need, at most double it (for needs above 16)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1 << 20 }), fc.integer({ min: 1, max: 1 << 20 }), (current, needed) => {
        const capacity = grownCapacity(current, needed);
        expect(capacity).to.be.at.least(needed);
        expect(capacity).to.be.at.least(current);
        if (needed > Math.max(current, 16)) expect(capacity).to.be.below(2 * needed);
      }),
    );
  });
});
