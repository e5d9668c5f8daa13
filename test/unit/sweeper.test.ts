/**
 * The sweeper runs on real timers, so these tests use the system clock and tiny
 * TTLs. They assert only eventual outcomes, polling with a generous deadline, so
 * a slow machine makes them slower, not red.
 */
import { expect } from "chai";
import { systemClock } from "../../src/platform/system-clock";
import { MemoryStore } from "../../src/store/memory/memory-store";
import { type Expirable, ExpirySweeper } from "../../src/store/memory/sweeper";

const tick = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls every 10 ms until `done()` holds; fails after `limitMs`. */
async function eventually(done: () => boolean, what: string, limitMs = 2000): Promise<void> {
  const giveUp = Date.now() + limitMs;
  while (!done()) {
    if (Date.now() > giveUp) expect.fail(`timed out waiting until ${what}`);
    await tick(10);
  }
}

describe("ExpirySweeper", () => {
  let stores: MemoryStore[];
  beforeEach(() => {
    stores = [];
  });
  afterEach(async () => {
    // Closing stops the timer; it is unref'd anyway, but leave nothing behind.
    for (const store of stores) await store.close();
  });

  function open(keyTtlMs: number, sliceSize?: number): MemoryStore {
    const settings = { keyTtlMs, blockTtlMs: 10, maxKeys: 100_000 };
    const store = sliceSize === undefined ? new MemoryStore(systemClock, settings) : new MemoryStore(systemClock, settings, {}, { sliceSize });
    stores.push(store);
    return store;
  }

  it("removes expired keys on its own, with no read to trigger it", async () => {
    const store = open(30);
    for (let i = 0; i < 5; i += 1) await store.create();
    expect(store.size).to.equal(5);
    // `size` reads no key, so only the sweeper's timer can bring it down.
    await eventually(() => store.size === 0, "the sweeper removed every key");
  });

  it("keeps going after a release deadline to reach the later expiries", async () => {
    const store = open(60);
    await store.create();
    await store.create();
    await store.acquire(); // a release deadline at +10 ms comes first
    await eventually(() => store.size === 0, "the sweeper removed both keys");
  });

  it("sweeps 1000 keys expiring together in slices of 10", async () => {
    const store = open(30, 10);
    for (let i = 0; i < 1000; i += 1) await store.create();
    expect(store.size).to.equal(1000);
    // 10 s, not 2: while slices wait for other events to wake the loop (see
    // test/known-bugs/sweeper-idle-stall.ts) each one costs a 10 ms poll here.
    await eventually(() => store.size === 0, "every slice ran", 10_000);
  });

  it("reaches keys created after a sweep already ran", async () => {
    const store = open(20);
    await store.create();
    await eventually(() => store.size === 0, "the first key went");
    await store.create();
    await eventually(() => store.size === 0, "the second key went");
  });
});

describe("ExpirySweeper with a fake target", () => {
  /** `due` deadlines, all already passed; records every budget it is asked for. */
  function fakeTarget(due: number): Expirable & { budgets: number[]; left: () => number } {
    let left = due;
    const budgets: number[] = [];
    return {
      budgets,
      left: () => left,
      nextDeadline: () => (left > 0 ? Date.now() - 1 : Number.POSITIVE_INFINITY),
      expireDue(budget: number) {
        budgets.push(budget);
        const applied = Math.min(budget, left);
        left -= applied;
        return applied;
      },
    };
  }

  it("works in slices of sliceSize, yielding between them, until nothing is due", async () => {
    const target = fakeTarget(1000);
    const sweeper = new ExpirySweeper(target, systemClock, { sliceSize: 10 });
    try {
      sweeper.poke();
      expect(target.budgets, "poke only arms a timer").to.deep.equal([]);
      await eventually(() => target.left() === 0, "all 1000 were applied", 10_000); // see above
      expect(target.budgets.length).to.be.within(100, 101); // 100 full slices (+1 empty check at most)
      expect(new Set(target.budgets)).to.deep.equal(new Set([10]));
    } finally {
      sweeper.stop();
    }
  });

  it("does nothing once stopped", async () => {
    const target = fakeTarget(5);
    const sweeper = new ExpirySweeper(target, systemClock, { sliceSize: 10 });
    sweeper.poke(); // armed with a 0 ms delay
    sweeper.stop();
    sweeper.poke(); // ignored after stop
    await tick(50); // the cleared timer would have fired by now
    expect(target.budgets).to.deep.equal([]);
    expect(target.left()).to.equal(5);
  });
});
