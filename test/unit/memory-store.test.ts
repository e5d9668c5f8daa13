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
