import { MemoryStore } from "../../src/store/memory/memory-store";
import { describeStoreContract } from "../support/store-contract";

// The embedded store runs the shared lifecycle contract; its sweeper's real timer
// may fire meanwhile, which the contract says must change nothing a caller sees.
describeStoreContract("memory", async (clock, settings) => ({ store: new MemoryStore(clock, settings) }));
