import type { Clock } from "../../core/clock";
import { KeyPool, type PoolDependencies, type PoolSettings } from "../../core/key-pool";
import type { KeyRecord, KeyStore } from "../port";
import { ExpirySweeper, type SweeperOptions } from "./sweeper";

/** The embedded default: the pure KeyPool plus its one sweeper, behind the store port. */
export class MemoryStore implements KeyStore {
  private readonly pool: KeyPool;
  private readonly sweeper: ExpirySweeper;

  constructor(clock: Clock, settings: PoolSettings, dependencies: PoolDependencies = {}, sweeper?: SweeperOptions) {
    this.pool = new KeyPool(clock, settings, dependencies);
    this.sweeper = new ExpirySweeper(this.pool, clock, sweeper);
  }

  /** Keys held, swept or not (for tests and benchmarks). */
  get size(): number {
    return this.pool.size;
  }

  async create(): Promise<KeyRecord> {
    const record = this.pool.create();
    this.sweeper.poke();
    return record;
  }

  async acquire(): Promise<KeyRecord> {
    const record = this.pool.acquire();
    this.sweeper.poke();
    return record;
  }

  async get(keyId: string): Promise<KeyRecord> {
    return this.pool.get(keyId);
  }

  async release(keyId: string): Promise<KeyRecord> {
    return this.pool.release(keyId);
  }

  async keepAlive(keyId: string): Promise<KeyRecord> {
    return this.pool.keepAlive(keyId);
  }

  async delete(keyId: string): Promise<void> {
    this.pool.delete(keyId);
  }

  isReady(): boolean {
    return true;
  }

  onReadyChange(): void {
    // Always ready: nothing to report.
  }

  async close(): Promise<void> {
    this.sweeper.stop();
  }
}
