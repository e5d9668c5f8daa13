import { RedisStore } from "../../src/store/redis/redis-store";
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
});
