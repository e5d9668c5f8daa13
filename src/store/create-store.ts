import type { Clock } from "../core/clock";
import type { Config } from "../config";
import { MemoryStore } from "./memory/memory-store";
import type { KeyStore } from "./port";

/** The store the configuration names. */
export async function createStore(config: Config, clock: Clock): Promise<KeyStore> {
  const settings = { keyTtlMs: config.keyTtlMs, blockTtlMs: config.blockTtlMs, maxKeys: config.maxKeys };
  switch (config.store) {
    case "memory":
      return new MemoryStore(clock, settings);
    case "redis":
      throw new Error("STORE=redis is not available yet");
  }
}
