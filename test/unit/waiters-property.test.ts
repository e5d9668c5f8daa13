/**
 * Waiting acquires against a reference model, on fake time: random joins (with and
 * without a wait), cancellations, releases (some into a cooldown), creates and clock
 * moves, on a real MemoryStore. The model is first come, first served: a freed key
 * goes to the longest-waiting caller still there; a waiter times out at exactly its
 * deadline; a cancelled one takes no key. After every step each waiter's outcome must
 * be the model's, and at the end every key is back: none lost, none handed out twice.
 *
 * Ties between a waiter's deadline and a cooldown's end are ruled out by parity (every
 * step moves time by an even number of ms, waits are even, cooldowns odd), so the model
 * need not guess which timer fires first on the same millisecond.
 */
import * as FakeTimers from "@sinonjs/fake-timers";
import { expect } from "chai";
import fc from "fast-check";
import { isDomainError } from "../../src/core/errors";
import { remoteOf } from "../../src/service/pipeline";
import { Code } from "../../src/service/status";
import { type WaiterTimers, Waiters } from "../../src/service/waiters";
import { MemoryStore } from "../../src/store/memory/memory-store";
import type { KeyRecord } from "../../src/store/port";

const START = Date.UTC(2026, 10, 25, 12, 0, 0);

type Command =
  | { op: "join"; waitMs: number }
  | { op: "cancel"; pick: number }
  | { op: "release"; pick: number; cooldownMs: number }
  | { op: "create" }
  | { op: "advance"; ms: number };

const commandArb: fc.Arbitrary<Command> = fc.oneof(
  { arbitrary: fc.record({ op: fc.constant("join" as const), waitMs: fc.constantFrom(0, 10, 40, 200) }), weight: 5 },
  { arbitrary: fc.record({ op: fc.constant("cancel" as const), pick: fc.nat() }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant("release" as const), pick: fc.nat(), cooldownMs: fc.constantFrom(0, 0, 5, 31) }), weight: 3 },
  { arbitrary: fc.record({ op: fc.constant("create" as const) }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constant("advance" as const), ms: fc.constantFrom(2, 6, 20, 100) }), weight: 3 },
);

type Outcome = "waiting" | "granted" | "timed out" | "cancelled";

/** First come, first served, in counts: which waiter holds, which waits, which gave up. */
class Model {
  available = 0;
  /** Ends of cooldowns, when those keys become available. */
  cooling: number[] = [];
  queue: { id: number; deadline: number }[] = [];
  outcomes: Outcome[] = [];

  join(id: number, waitMs: number, now: number): void {
    if (this.queue.length === 0 && this.available > 0) {
      this.available -= 1;
      this.outcomes[id] = "granted";
    } else if (waitMs === 0) {
      this.outcomes[id] = "timed out";
    } else {
      this.queue.push({ id, deadline: now + waitMs });
      this.outcomes[id] = "waiting";
    }
  }

  free(count = 1): void {
    this.available += count;
    while (this.available > 0 && this.queue.length > 0) {
      const head = this.queue.shift() as { id: number };
      this.available -= 1;
      this.outcomes[head.id] = "granted";
    }
  }

  cancel(id: number): void {
    const at = this.queue.findIndex((waiter) => waiter.id === id);
    if (at < 0) return;
    this.queue.splice(at, 1);
    this.outcomes[id] = "cancelled";
  }

  /** Moves time to `to`: cooldown ends and waiters' deadlines, in time order (cooldowns and deadlines never share a ms: parity). */
  advance(from: number, to: number): void {
    for (;;) {
      const nextCool = Math.min(...this.cooling.filter((end) => end > from));
      const nextDeadline = Math.min(...this.queue.map((waiter) => waiter.deadline));
      const next = Math.min(nextCool, nextDeadline);
      if (next > to) return;
      if (next === nextCool) {
        // Every cooldown ending on this ms frees its key (two releases with one cooldown at one instant end together).
        const ending = this.cooling.filter((end) => end === next).length;
        this.cooling = this.cooling.filter((end) => end !== next);
        this.free(ending);
      } else {
        const gone = this.queue.filter((waiter) => waiter.deadline === next);
        this.queue = this.queue.filter((waiter) => waiter.deadline !== next);
        for (const waiter of gone) this.outcomes[waiter.id] = "timed out";
      }
      from = next - 1;
    }
  }
}

describe("Waiters: first come, first served against a model (fake time, memory store)", () => {
  it("every waiter's outcome is the model's after every step, and no key is lost", async function () {
    this.timeout(60_000);
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 3 }), fc.array(commandArb, { maxLength: 40, size: "max" }), async (initialKeys, commands) => {
        const fake = FakeTimers.createClock(START);
        const clock = { now: () => fake.now };
        const timers: WaiterTimers = {
          after(ms, callback) {
            const timer = fake.setTimeout(callback, ms);
            return () => fake.clearTimeout(timer);
          },
        };
        const store = new MemoryStore(clock, { keyTtlMs: 3_600_000, blockTtlMs: 3_600_000, maxKeys: 1000 }, {}, { timers: { after: timers.after, soon: timers.after.bind(null, 0) } });
        const waiters = new Waiters(store, clock, timers);
        const model = new Model();
        const outcomes: Outcome[] = [];
        const aborts: AbortController[] = [];
        /** Keys the test holds, in the order they were granted: releases pick among them. */
        const held: KeyRecord[] = [];
        const settle = async (): Promise<void> => {
          for (let i = 0; i < 5; i += 1) await new Promise((resolve) => setImmediate(resolve));
        };
        let total = 0;
        try {
          for (let i = 0; i < initialKeys; i += 1) await store.create();
          total = initialKeys;
          model.free(initialKeys);
          for (const command of commands) {
            switch (command.op) {
              case "join": {
                const id = outcomes.length;
                const abort = new AbortController();
                aborts.push(abort);
                outcomes.push("waiting");
                model.join(id, command.waitMs, fake.now);
                waiters.acquire({}, command.waitMs, remoteOf(abort.signal, "test")).then(
                  (record) => {
                    outcomes[id] = "granted";
                    held.push(record);
                  },
                  (error: unknown) => {
                    if (isDomainError(error) && error.kind === "no_available_key") outcomes[id] = "timed out";
                    else if ((error as { code?: unknown }).code === Code.CANCELLED) outcomes[id] = "cancelled";
                    else throw error;
                  },
                );
                break;
              }
              case "cancel": {
                if (aborts.length === 0) break;
                const id = command.pick % aborts.length;
                model.cancel(id);
                aborts[id]?.abort();
                break;
              }
              case "release": {
                if (held.length === 0) break;
                const [record] = held.splice(command.pick % held.length, 1) as [KeyRecord];
                await store.release(record.keyId, { lease: record.lease as number, cooldownMs: command.cooldownMs });
                if (command.cooldownMs > 0) model.cooling.push(fake.now + command.cooldownMs);
                else model.free();
                break;
              }
              case "create":
                await store.create();
                total += 1;
                model.free();
                break;
              case "advance": {
                const from = fake.now;
                model.advance(from, from + command.ms);
                await fake.tickAsync(command.ms);
                break;
              }
            }
            await settle();
            expect(outcomes, `after ${JSON.stringify(command)} at +${fake.now - START} ms`).to.deep.equal(model.outcomes);
          }
          // Everyone leaves, everything is given back: every key is available again.
          for (const abort of aborts) abort.abort();
          for (const record of held.splice(0)) await store.release(record.keyId, { lease: record.lease as number });
          await fake.tickAsync(1000);
          await settle();
          expect(await store.counts()).to.deep.equal({ total, available: total, leased: 0, cooling: 0 });
          expect(waiters.size).to.equal(0);
        } finally {
          for (const abort of aborts) abort.abort();
          await store.close();
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe("Waiters: a caller that leaves while its key is being acquired", () => {
  it("gets nothing, and the key acquired for it is released at once (with its lease)", async () => {
    const fake = FakeTimers.createClock(START);
    const clock = { now: () => fake.now };
    const timers: WaiterTimers = {
      after(ms, callback) {
        const timer = fake.setTimeout(callback, ms);
        return () => fake.clearTimeout(timer);
      },
    };
    const store = new MemoryStore(clock, { keyTtlMs: 3_600_000, blockTtlMs: 3_600_000, maxKeys: 10 });
    // The store's acquire is held at a gate, as a slow Redis round trip would hold it.
    let open: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const acquire = store.acquire.bind(store);
    const released: (number | undefined)[] = [];
    const release = store.release.bind(store);
    const gated = Object.assign(Object.create(store) as MemoryStore, {
      acquire: async (...args: Parameters<MemoryStore["acquire"]>) => {
        const record = await acquire(...args);
        await gate;
        return record;
      },
      release: async (...args: Parameters<MemoryStore["release"]>) => {
        released.push(args[1]?.lease);
        return release(...args);
      },
    });
    try {
      const waiters = new Waiters(gated, clock, timers);
      const { keyId } = await store.create();
      const abort = new AbortController();
      const outcome = waiters.acquire({}, 0, remoteOf(abort.signal, "test")).then(
        () => "granted",
        (error: unknown) => (error as { code?: unknown }).code,
      );
      await new Promise((resolve) => setImmediate(resolve));
      expect((await store.get(keyId)).state, "acquired for the caller, answer held at the gate").to.equal("leased");
      const { lease } = await store.get(keyId);
      abort.abort();
      open();
      expect(await outcome).to.equal(Code.CANCELLED);
      expect(released).to.deep.equal([lease]);
      expect((await store.get(keyId)).state).to.equal("available");
    } finally {
      await store.close();
    }
  });
});
