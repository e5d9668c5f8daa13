import { expect } from "chai";
import { REDIS_ACQUIRE_RELEASE_BUDGET, REDIS_DEADLINE_BUDGET, RedisStore } from "../../src/store/redis/redis-store";
import { defineScripts, poolKeys } from "../../src/store/redis/scripts";
import { ManualClock } from "../support/manual-clock";
import { TestRedis } from "../support/redis-server";
import { describeStoreContract } from "../support/store-contract";

// The same lifecycle contract as the memory store, against a real redis-server this
// suite starts itself. The manual clock's time is sent to the scripts in place of TIME.
describe("Redis store", function () {
  this.timeout(120_000);
  let redis: TestRedis;
  let pools = 0;

  before(async () => {
    redis = await TestRedis.start();
  });
  after(() => redis.stop());

  describeStoreContract("redis", async (clock, settings) => {
    pools += 1;
    // The suite runs the sweep itself (StoreUnderTest.sweep); the timer's would come after every test.
    const store = new RedisStore({ url: redis.url, prefix: `contract-${pools}:`, settings, clock, sweepIntervalMs: 3_600_000 });
    await store.connected();
    return { store, sweep: () => store.sweep() };
  });

  describe("the event feed", () => {
    it("a watch from now never finds its next revision out of range while another instance appends (read and counter in one MULTI)", async () => {
      const clock = new ManualClock();
      const settings = { keyTtlMs: 60_000, blockTtlMs: 1000, maxKeys: 100_000 };
      const writer = new RedisStore({ url: redis.url, prefix: "feed-race:", settings, clock, sweepIntervalMs: 3_600_000 });
      // A reader with no watcher: its ring is empty, so every read goes to Redis.
      const reader = new RedisStore({ url: redis.url, prefix: "feed-race:", settings, clock, sweepIntervalMs: 3_600_000 });
      try {
        await Promise.all([writer.connected(), reader.connected()]);
        let appending = true;
        const appends = (async () => {
          while (appending) await Promise.all(Array.from({ length: 8 }, () => writer.create()));
        })();
        let outOfRange = 0;
        for (let i = 0; i < 400; i += 1) {
          const from = (await reader.events.last()) + 1;
          await reader.events.read(from, 10).catch(() => (outOfRange += 1));
        }
        appending = false;
        await appends;
        expect(outOfRange, "reads of the next revision refused as out of range").to.equal(0);
      } finally {
        await Promise.all([writer.close(), reader.close()]);
      }
    });
  });

  describe("Acquire's share of a backlog", () => {
    it("a turn's Acquires apply at most REDIS_ACQUIRE_RELEASE_BUDGET due releases; the sweep takes the rest", async () => {
      expect(REDIS_ACQUIRE_RELEASE_BUDGET).to.be.below(REDIS_DEADLINE_BUDGET);
      const clock = new ManualClock();
      const settings = { keyTtlMs: 3_600_000, blockTtlMs: 1000, maxKeys: 10_000 }; // the default budgets
      const store = new RedisStore({ url: redis.url, prefix: "acquire-share:", settings, clock, sweepIntervalMs: 3_600_000 });
      try {
        await store.connected();
        const held = 2 * REDIS_DEADLINE_BUDGET;
        for (let i = 0; i < held; i += 1) await store.create();
        for (let i = 0; i < held; i += 1) await store.acquire();
        clock.advance(1000); // every hold has ended, none applied
        await new Promise((resolve) => setImmediate(resolve));
        await store.acquire();
        expect((await store.counts()).leased, "one Acquire's turn").to.equal(held - REDIS_ACQUIRE_RELEASE_BUDGET + 1);
        expect(await store.sweep(), "the sweep applies what the Acquire left").to.equal(held - REDIS_ACQUIRE_RELEASE_BUDGET);
        expect((await store.counts()).leased).to.equal(1);
      } finally {
        await store.close();
      }
    });
  });

  describe("the background sweep", () => {
    it("is one instance's at a time: the sweeper key turns others away until its backlog is gone", async () => {
      const clock = new ManualClock();
      const settings = { keyTtlMs: 1000, blockTtlMs: 100, maxKeys: 1000, deadlineBudget: 4 };
      const store = new RedisStore({ url: redis.url, prefix: "sweep-lock:", settings, clock, sweepIntervalMs: 3_600_000 });
      const client = redis.client();
      try {
        await store.connected();
        for (let i = 0; i < 10; i += 1) await store.create();
        clock.advance(1000); // ten expiries due: more than one batch of 4
        const run = defineScripts(client);
        const keys = poolKeys("sweep-lock:");
        // A script answers [result, events]: the result is the count applied (or -4).
        const sweep = async (instance: string): Promise<unknown> => ((await run("sweep", keys, [String(clock.now()), 4, instance, 10_000])) as unknown[])[0];
        expect(await sweep("a")).to.equal(4);
        expect(await client.get(keys[5] as string)).to.equal("a");
        expect(await client.pttl(keys[5] as string)).to.be.within(1, 3000);
        expect(await sweep("b"), "another instance is turned away").to.equal(-4);
        expect(await sweep(""), "a sweep outside the loop ignores the key").to.equal(4);
        expect(await sweep("a")).to.equal(2); // the last of the backlog
        expect(await client.exists(keys[5] as string), "the key goes with the backlog").to.equal(0);
        expect(await sweep("b")).to.equal(0);
      } finally {
        client.disconnect();
        await store.close();
      }
    });
  });
});
