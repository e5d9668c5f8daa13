import type { Clock } from "../core/clock";
import type { Config } from "../config";
import { MemoryStore } from "./memory/memory-store";
import type { KeyStore } from "./port";
import { RedisStore } from "./redis/redis-store";

/** The store the configuration names. */
export async function createStore(config: Config, clock: Clock): Promise<KeyStore> {
  const settings = {
    keyTtlMs: config.keyTtlMs,
    blockTtlMs: config.blockTtlMs,
    maxKeys: config.maxKeys,
    maxKeyTtlMs: config.maxKeyTtlMs,
    maxBlockTtlMs: config.maxBlockTtlMs,
    watchRetention: config.watchRetention,
  };
  switch (config.store) {
    case "memory":
      return new MemoryStore(clock, settings);
    case "redis": {
      const store = new RedisStore({ url: config.redisUrl, prefix: config.redisPrefix, settings });
      // Start even if Redis is down (health says NOT_SERVING until it is up), but give it a moment.
      await store.connected(2000).catch(() => undefined);
      return store;
    }
  }
}
