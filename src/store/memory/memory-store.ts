import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import type { Clock } from "../../core/clock";
import { CATCHING_UP, type CatchingUp, DEADLINE_BUDGET, KeyPool, type PoolDependencies, type PoolSettings } from "../../core/key-pool";
import { CALLER_MADE_EVENTS, type KeyEvent } from "../../core/events";
import type { KeyRecord, KeyStore, PoolCounts, StoreKeyEvent } from "../port";
import { warmUpPoolCode } from "../../core/warm-up";
import { ExpirySweeper, type SweeperOptions } from "./sweeper";

let warmedUp = false;


/** The embedded default: the pure KeyPool plus its one sweeper, behind the store port. */
export class MemoryStore implements KeyStore {
  private readonly pool: KeyPool;
  private readonly sweeper: ExpirySweeper;
  private readonly budget: number;
  private readonly listeners: ((event: StoreKeyEvent) => void)[] = [];
  /** The caller of the pool call under way (pool calls are synchronous), named in its events. */
  private actor: string | undefined;

  constructor(clock: Clock, settings: PoolSettings, dependencies: PoolDependencies = {}, sweeper: SweeperOptions = {}) {
    MemoryStore.warmUp();
    this.pool = new KeyPool(clock, settings, { ...dependencies, onEvent: (event) => this.report(event) });
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

  async create(by?: string): Promise<KeyRecord> {
    const record = this.as(by, () => this.pool.create());
    this.sweeper.poke();
    return record;
  }

  async acquire(by?: string): Promise<KeyRecord> {
    const record = await this.untilCaughtUp(() => this.as(by, () => this.pool.acquire()));
    this.sweeper.poke();
    return record;
  }

  async get(keyId: string): Promise<KeyRecord> {
    return this.pool.get(keyId);
  }

  async release(keyId: string, by?: string): Promise<KeyRecord> {
    return this.as(by, () => this.pool.release(keyId));
  }

  async keepAlive(keyId: string, by?: string): Promise<KeyRecord> {
    return this.as(by, () => this.pool.keepAlive(keyId));
  }

  async delete(keyId: string, by?: string): Promise<void> {
    this.as(by, () => this.pool.delete(keyId));
  }

  onKeyEvent(listener: (event: StoreKeyEvent) => void): void {
    this.listeners.push(listener);
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

  /** Runs a pool call on behalf of `by`: its caller-made events name them. */
  private as<T>(by: string | undefined, call: () => T): T {
    this.actor = by;
    try {
      return call();
    } finally {
      this.actor = undefined;
    }
  }

  private report(event: KeyEvent): void {
    if (this.listeners.length === 0) return;
    const reported: StoreKeyEvent = this.actor !== undefined && CALLER_MADE_EVENTS.has(event.type) ? { ...event, by: this.actor } : event;
    for (const listener of this.listeners) listener(reported);
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
