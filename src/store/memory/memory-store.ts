import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import type { Clock } from "../../core/clock";
import { CATCHING_UP, type CatchingUp, DEADLINE_BUDGET, KeyPool, type PoolDependencies, type PoolSettings } from "../../core/key-pool";
import type { KeyRecord, KeyStore, PoolCounts } from "../port";
import { warmUpPoolCode } from "../../core/warm-up";
import { ExpirySweeper, type SweeperOptions } from "./sweeper";

let warmedUp = false;

/** The embedded default: the pure KeyPool plus its one sweeper, behind the store port. */
export class MemoryStore implements KeyStore {
  private readonly pool: KeyPool;
  private readonly sweeper: ExpirySweeper;
  private readonly budget: number;

  constructor(clock: Clock, settings: PoolSettings, dependencies: PoolDependencies = {}, sweeper: SweeperOptions = {}) {
    MemoryStore.warmUp();
    this.pool = new KeyPool(clock, settings, dependencies);
    this.budget = settings.deadlineBudget ?? DEADLINE_BUDGET;
    this.sweeper = new ExpirySweeper(this.pool, clock, { sliceSize: this.budget, ...sweeper });
  }

  /** Optimises the pool's code before traffic (see warmUpPoolCode), once per process. */
  static warmUp(): void {
    if (warmedUp) return;
    warmedUp = true;
    warmUpPoolCode();
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
    const record = await this.untilCaughtUp(() => this.pool.acquire());
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

  async counts(): Promise<PoolCounts> {
    return this.pool.counts();
  }

  /**
   * Applies every passed deadline now, a budget at a time with a yield between
   * (what the sweeper does on its timer); returns how many. Reads never need it.
   */
  async sweep(): Promise<number> {
    const budget = this.budget;
    let total = 0;
    for (;;) {
      const applied = this.pool.expireDue(budget);
      total += applied;
      if (applied < budget) return total;
      await yieldToEventLoop();
    }
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

  /**
   * Runs a pool call again while it answers CATCHING_UP (a deadline backlog larger
   * than one call's budget), yielding to the event loop between tries: each try is
   * bounded work and shrinks the backlog, and other calls run in between.
   */
  private async untilCaughtUp<T>(attempt: () => T | CatchingUp): Promise<T> {
    for (;;) {
      const result = attempt();
      if (result !== CATCHING_UP) return result;
      this.sweeper.poke();
      await yieldToEventLoop();
    }
  }
}
