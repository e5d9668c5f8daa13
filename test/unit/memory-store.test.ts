import { expect } from "chai";
import { MemoryStore } from "../../src/store/memory/memory-store";
import type { SweeperTimers } from "../../src/store/memory/sweeper";
import { describeStoreContract } from "../support/store-contract";

/** Timers that never fire: the suite runs the sweep itself, when it chooses (see StoreUnderTest.sweep). */
const paused: SweeperTimers = { after: () => () => undefined, soon: () => () => undefined };

// The embedded store runs the shared lifecycle contract.
describeStoreContract("memory", async (clock, settings) => {
  const store = new MemoryStore(clock, settings, {}, { timers: paused });
  return { store, sweep: () => store.sweep() };
});

describe("memory store: one deadline budget per event-loop turn", () => {
  const BUDGET = 8;
  const BLOCK_TTL = 60_000;

  /** A store with `held` keys leased at t0 (their holds end together at t0 + BLOCK_TTL) and `spare` available. */
  async function storm(held: number, spare: number) {
    const clock = { t: 1_000_000, now(): number { return this.t; } };
    const store = new MemoryStore(clock, { keyTtlMs: 3_600_000, blockTtlMs: BLOCK_TTL, maxKeys: 10_000, deadlineBudget: BUDGET }, {}, { timers: paused });
    for (let i = 0; i < held + spare; i += 1) await store.create();
    for (let i = 0; i < held; i += 1) await store.acquire();
    clock.t += BLOCK_TTL;
    return store;
  }

  it("Acquires arriving in one turn apply one budget between them, and each still gets a key", async () => {
    const store = await storm(100, 20);
    // 20 Acquires started in one turn (as a batch read from a socket): the first applies the
    // turn's budget of due releases, the rest draw among the keys available already.
    const answers = await Promise.all(Array.from({ length: 20 }, () => store.acquire()));
    expect(new Set(answers.map((a) => a.keyId)).size).to.equal(20);
    const { leased, available } = await store.counts();
    // 100 holds passed; only one budget of them was applied, in that turn.
    expect(leased).to.equal(100 - BUDGET + 20);
    expect(available).to.equal(20 + BUDGET - 20);
  });

  it("the next turn has a whole budget again", async () => {
    const store = await storm(100, 20);
    await Promise.all(Array.from({ length: 5 }, () => store.acquire()));
    await new Promise((resolve) => setImmediate(resolve));
    await Promise.all(Array.from({ length: 5 }, () => store.acquire()));
    expect((await store.counts()).leased).to.equal(100 - 2 * BUDGET + 10);
  });

  it("with nothing available, an Acquire past the turn's budget waits for the next turn instead of answering none", async () => {
    const store = await storm(30, 0);
    // All 30 holds passed, nothing available yet: 12 Acquires in one turn. The first applies 8
    // releases and takes one, 7 more take the others; the last 4 find none available with
    // releases still due, so they catch up next turn, where the first applies 8 more.
    const answers = await Promise.all(Array.from({ length: 12 }, () => store.acquire()));
    expect(new Set(answers.map((a) => a.keyId)).size).to.equal(12);
    expect((await store.counts()).leased).to.equal(30 - 2 * BUDGET + 12);
  });
});
