/**
 * The sweeper on fake time: one standalone @sinonjs/fake-timers clock is both the store's
 * Clock and (through `fakeTime().timers`) the sweeper's timers, so time moves only when a
 * test calls `fake.tick(ms)` or `fake.runAll()`. No real sleep, no polling. The clock is
 * never installed globally: mocha itself runs on Node's real timers.
 * That Node's real `setImmediate` keeps an idle loop turning is test/unit/sweeper-idle.test.ts.
 */
import * as FakeTimers from "@sinonjs/fake-timers";
import { expect } from "chai";
import type { Clock } from "../../src/core/clock";
import { MemoryStore } from "../../src/store/memory/memory-store";
import { type Expirable, ExpirySweeper, type SweeperTimers } from "../../src/store/memory/sweeper";

const START = Date.UTC(2026, 10, 25, 12, 0, 0);

interface FakeTime {
  readonly fake: FakeTimers.Clock;
  readonly clock: Clock;
  readonly timers: SweeperTimers;
  /** The delay of every timer the sweeper armed, in order. */
  readonly armed: number[];
  /** How many times the sweeper yielded between slices (`soon` calls). */
  yields(): number;
}

function fakeTime(): FakeTime {
  const fake = FakeTimers.createClock(START);
  const armed: number[] = [];
  let yields = 0;
  return {
    fake,
    clock: { now: () => fake.now },
    timers: {
      after(ms, callback) {
        armed.push(ms);
        const timer = fake.setTimeout(callback, ms);
        return () => fake.clearTimeout(timer);
      },
      soon(callback) {
        // fake-timers runs an immediate queued during a tick one fake millisecond later;
        // harmless here, since every deadline a yield continues with has already passed.
        yields += 1;
        const immediate = fake.setImmediate(callback);
        return () => fake.clearImmediate(immediate);
      },
    },
    armed,
    yields: () => yields,
  };
}

describe("ExpirySweeper in a MemoryStore, on fake time", () => {
  let time: FakeTime;
  let stores: MemoryStore[];
  beforeEach(() => {
    time = fakeTime();
    stores = [];
  });
  afterEach(async () => {
    for (const store of stores) await store.close();
  });

  function open(keyTtlMs: number, sliceSize?: number): MemoryStore {
    const settings = { keyTtlMs, blockTtlMs: 10, maxKeys: 100_000 };
    const store = new MemoryStore(time.clock, settings, {}, { timers: time.timers, ...(sliceSize === undefined ? {} : { sliceSize }) });
    stores.push(store);
    return store;
  }

  it("removes expired keys on its own at their deadline, with no read to trigger it", async () => {
    const store = open(30);
    for (let i = 0; i < 5; i += 1) await store.create();
    // `size` reads no key, so only the sweeper's timer can bring it down.
    time.fake.tick(29);
    expect(store.size).to.equal(5);
    time.fake.tick(1);
    expect(store.size).to.equal(0);
  });

  it("keeps going after a release deadline to reach the later expiries", async () => {
    const store = open(60);
    await store.create();
    await store.create();
    await store.acquire(); // a release deadline at +10 ms, before both expiries at +60
    time.fake.tick(10);
    // `counts` reads no key either: the release was applied by the sweeper.
    expect(await store.counts()).to.deep.equal({ total: 2, available: 2, leased: 0, cooling: 0 });
    time.fake.tick(50);
    expect(store.size).to.equal(0);
    // Armed for the expiry, re-armed earlier for the release, then for the expiry again.
    expect(time.armed).to.deep.equal([60, 10, 50]);
  });

  it("sweeps 1000 keys expiring together in 100 slices of 10, yielding between slices", async () => {
    const store = open(30, 10);
    for (let i = 0; i < 1000; i += 1) await store.create();
    time.fake.tick(30);
    // One slice, then it waits for the event loop to turn (a pending `soon`).
    expect(store.size).to.equal(990);
    expect(time.yields()).to.equal(1);
    time.fake.runAll();
    expect(store.size).to.equal(0);
    expect(time.yields(), "one yield between each two of the 100 slices").to.equal(99);
    expect(time.armed, "the backlog needed one timer only").to.deep.equal([30]);
  });

  it("reaches keys created after a sweep already ran, and leaves nothing armed once empty", async () => {
    const store = open(20);
    await store.create();
    time.fake.tick(20);
    expect(store.size).to.equal(0);
    expect(time.fake.countTimers()).to.equal(0);
    await store.create();
    time.fake.tick(19);
    expect(store.size).to.equal(1);
    time.fake.tick(1);
    expect(store.size).to.equal(0);
    expect(time.fake.countTimers()).to.equal(0);
  });

  it("arms one timer at a time for the earliest deadline, never one per key", async () => {
    const store = open(100);
    for (let i = 0; i < 50; i += 1) {
      await store.create(); // expiries at +100, +101, … +149
      time.fake.tick(1);
    }
    expect(time.fake.countTimers()).to.equal(1);
    expect(time.armed, "later deadlines do not re-arm").to.deep.equal([100]);
    time.fake.tick(50); // now +100: the first key's expiry
    expect(store.size).to.equal(49);
    expect(time.fake.countTimers()).to.equal(1);
    expect(time.armed).to.deep.equal([100, 1]); // re-armed for the next key, 1 ms later
    time.fake.runAll();
    expect(store.size).to.equal(0);
    expect(time.fake.countTimers()).to.equal(0);
  });

  it("does nothing once closed", async () => {
    const store = open(30);
    for (let i = 0; i < 5; i += 1) await store.create();
    await store.close();
    expect(time.fake.countTimers(), "close cleared the timer").to.equal(0);
    time.fake.tick(1000);
    expect(store.size).to.equal(5);
  });
});

/** A deadline queue filled by hand; records every budget the sweeper asks for. */
class FakeQueue implements Expirable {
  readonly budgets: number[] = [];
  private readonly deadlines: number[] = [];

  constructor(private readonly clock: Clock) {}

  add(at: number, count = 1): void {
    for (let i = 0; i < count; i += 1) this.deadlines.push(at);
    this.deadlines.sort((a, b) => a - b);
  }

  get left(): number {
    return this.deadlines.length;
  }

  nextDeadline(): number {
    return this.deadlines[0] ?? Number.POSITIVE_INFINITY;
  }

  expireDue(budget: number): number {
    this.budgets.push(budget);
    let applied = 0;
    while (applied < budget && this.nextDeadline() <= this.clock.now()) {
      this.deadlines.shift();
      applied += 1;
    }
    return applied;
  }
}

describe("ExpirySweeper with a fake deadline queue, on fake time", () => {
  let time: FakeTime;
  let queue: FakeQueue;
  let sweeper: ExpirySweeper;
  beforeEach(() => {
    time = fakeTime();
    queue = new FakeQueue(time.clock);
    sweeper = new ExpirySweeper(queue, time.clock, { sliceSize: 10, timers: time.timers });
  });
  afterEach(() => sweeper.stop());

  it("works in slices of sliceSize, yielding between them, until nothing is due", () => {
    queue.add(START - 1, 1000);
    sweeper.poke();
    expect(queue.budgets, "poke only arms a timer").to.deep.equal([]);
    time.fake.runAll();
    expect(queue.left).to.equal(0);
    expect(queue.budgets).to.deep.equal(new Array<number>(100).fill(10));
    expect(time.yields()).to.equal(99);
  });

  it("does not fire before the deadline", () => {
    queue.add(START + 250);
    sweeper.poke();
    time.fake.tick(249);
    expect(queue.budgets).to.deep.equal([]);
    time.fake.tick(1);
    expect(queue.budgets).to.deep.equal([10]);
    expect(queue.left).to.equal(0);
  });

  it("re-arms earlier when a poke finds a nearer deadline, and only then", () => {
    queue.add(START + 1000);
    sweeper.poke();
    queue.add(START + 2000);
    sweeper.poke();
    expect(time.armed, "a later deadline keeps the timer").to.deep.equal([1000]);
    queue.add(START + 10);
    sweeper.poke();
    expect(time.armed).to.deep.equal([1000, 10]);
    expect(time.fake.countTimers(), "the +1000 timer was cancelled").to.equal(1);
    time.fake.tick(9);
    expect(queue.budgets).to.deep.equal([]);
    time.fake.tick(1);
    expect(queue.left).to.equal(2);
    expect(time.armed, "then armed for the next deadline").to.deep.equal([1000, 10, 990]);
    expect(time.fake.countTimers()).to.equal(1);
  });

  it("does nothing once stopped", () => {
    queue.add(START - 1, 5);
    sweeper.poke(); // armed with a 0 ms delay
    sweeper.stop();
    sweeper.poke(); // ignored after stop
    expect(time.fake.countTimers()).to.equal(0);
    time.fake.runAll();
    expect(queue.budgets).to.deep.equal([]);
    expect(queue.left).to.equal(5);
  });

  it("stopped in the middle of a backlog, runs no further slice", () => {
    queue.add(START - 1, 1000);
    sweeper.poke();
    time.fake.tick(0);
    expect(queue.left).to.equal(990);
    expect(time.yields()).to.equal(1);
    sweeper.stop(); // cancels the pending `soon`
    expect(time.fake.countTimers()).to.equal(0);
    time.fake.runAll();
    expect(queue.left).to.equal(990);
  });
});
