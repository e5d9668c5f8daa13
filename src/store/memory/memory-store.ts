import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import type { Clock } from "../../core/clock";
import { EventLog, type RevisionedEvent } from "../../core/event-log";
import { CATCHING_UP, type CatchingUp, DEADLINE_BUDGET, KeyPool, type PoolDependencies, type PoolSettings, WATCH_RETENTION } from "../../core/key-pool";
import { CALLER_MADE_EVENTS, type KeyEvent } from "../../core/events";
import type { KeyState } from "../../core/key-pool";
import { DomainError } from "../../core/errors";
import type { AcquireOptions, Caller, CreateOptions, EventFeed, KeepAliveOptions, KeyRecord, KeyStore, PoolCounts, ReleaseOptions, StoreKeyEvent } from "../port";
import { warmUpPoolCode } from "../../core/warm-up";
import { ExpirySweeper, type SweeperOptions } from "./sweeper";
import { CoalescedSignal } from "./coalesced-signal";

let warmedUp = false;

/** The events after which a key is available (the pool's own order: the key is in the draw already). */
const FREEING: ReadonlySet<string> = new Set(["CREATED", "RELEASED", "AUTO_RELEASED"]);

/** List's page token: the slot to start from, opaque to callers. */
function tokenOf(cursor: number): string {
  return Buffer.from(`m${cursor}`).toString("base64url");
}

function cursorOf(token: string): number {
  if (token === "") return 0;
  const match = /^m(\d{1,15})$/.exec(Buffer.from(token, "base64url").toString("latin1"));
  if (match === null) throw new DomainError("invalid_argument", "page_token is not one this service made");
  return Number(match[1]);
}

/**
 * Deadlines the sweeper applies between two yields to the event loop. Smaller than a
 * call's budget: a slice of 1,024 expiries (events and all) holds I/O up for 1-2 ms. The
 * first storm of each kind in a fresh process, the worst, read 1.2-6.4x the steady p99
 * with slices of 1,024 (eight runs) and 0.9-1.8x with 256 (six runs; bench:load, 1e6
 * deadlines on one millisecond).
 */
const SWEEP_SLICE = 256;

/** The embedded default: the pure KeyPool plus its one sweeper, behind the store port. */
export class MemoryStore implements KeyStore {
  private readonly pool: KeyPool;
  private readonly sweeper: ExpirySweeper;
  private readonly budget: number;
  /** Deadlines applied for callers in this event-loop turn (see untilCaughtUp). */
  private turnWork = 0;
  private readonly listeners: ((event: StoreKeyEvent) => void)[] = [];
  /** A key may have become available: waiting acquires listen. */
  private readonly freed = new CoalescedSignal();
  /** The caller of the pool call under way (pool calls are synchronous), named in its events. */
  private actor: string | undefined;
  /** The pool's recent history, for Watch: every event under the next revision. */
  private readonly history: EventLog;
  /** Events were appended: watchers listen. */
  private readonly appended = new CoalescedSignal();
  readonly events: EventFeed;

  constructor(clock: Clock, settings: PoolSettings, dependencies: PoolDependencies = {}, sweeper: SweeperOptions = {}) {
    MemoryStore.warmUp();
    this.history = new EventLog(settings.watchRetention ?? WATCH_RETENTION);
    this.events = {
      last: async () => this.history.last,
      read: async (from: number, max: number): Promise<readonly RevisionedEvent[]> => this.history.read(from, max),
      onAppend: (listener: () => void) => this.appended.listen(listener),
    };
    this.pool = new KeyPool(clock, settings, { ...dependencies, onEvent: (event) => this.report(event) });
    this.budget = settings.deadlineBudget ?? DEADLINE_BUDGET;
    this.sweeper = new ExpirySweeper(this.pool, clock, { sliceSize: Math.min(this.budget, SWEEP_SLICE), ...sweeper });
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

  async create(options: CreateOptions = {}): Promise<KeyRecord> {
    // At capacity, making room may need more than one try (see KeyPool.create), as Acquire may.
    const attempt = (budget: number): KeyRecord | CatchingUp => this.as(options.by, () => this.pool.create(options.ttlMs, budget));
    const first = this.tryInTurn(attempt);
    const record = first === CATCHING_UP ? await this.untilCaughtUp(attempt) : first;
    this.sweeper.poke();
    return record;
  }

  async acquire(options: AcquireOptions = {}): Promise<KeyRecord> {
    const attempt = (budget: number): KeyRecord | CatchingUp => this.as(options.by, () => this.pool.acquire(options.blockTtlMs, budget));
    // Nearly every Acquire is served by its first try: only a backlog larger than the
    // turn's budget needs the retrying loop (and its promise).
    const first = this.tryInTurn(attempt);
    const record = first === CATCHING_UP ? await this.untilCaughtUp(attempt) : first;
    this.sweeper.poke();
    return record;
  }

  async get(keyId: string): Promise<KeyRecord> {
    return this.pool.get(keyId);
  }

  async release(keyId: string, options: ReleaseOptions = {}): Promise<KeyRecord> {
    const record = this.as(options.by, () => this.pool.release(keyId, options.lease, options.cooldownMs));
    this.sweeper.poke(); // a cooldown may end before anything the sweeper waits for
    return record;
  }

  async keepAlive(keyId: string, options: KeepAliveOptions = {}): Promise<KeyRecord> {
    return this.as(options.by, () => this.pool.keepAlive(keyId, options.lease));
  }

  async delete(keyId: string, options: Caller = {}): Promise<void> {
    this.as(options.by, () => this.pool.delete(keyId));
  }

  async list(pageToken: string, pageSize: number, state?: KeyState): Promise<{ readonly records: readonly KeyRecord[]; readonly nextPageToken: string }> {
    const page = this.pool.list(cursorOf(pageToken), pageSize, state);
    return { records: page.records, nextPageToken: page.next === null ? "" : tokenOf(page.next) };
  }

  async nextRelease(): Promise<number> {
    return this.pool.nextRelease();
  }

  onKeyFreed(listener: () => void): void {
    this.freed.listen(listener);
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

  /** Counts deadline work done for callers in this event-loop turn; the count starts again next turn. */
  private spendInTurn(work: number): void {
    if (work === 0) return;
    if (this.turnWork === 0) setImmediate(() => (this.turnWork = 0));
    this.turnWork += work;
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
    this.history.append(event);
    this.appended.signal();
    if (FREEING.has(event.type)) this.freed.signal();
    if (this.listeners.length === 0) return;
    const reported: StoreKeyEvent = this.actor !== undefined && CALLER_MADE_EVENTS.has(event.type) ? withCaller(event, this.actor) : event;
    for (const listener of this.listeners) listener(reported);
  }

  /**
   * One try of a pool call with what is left of this event-loop turn's budget. One
   * budget of deadline work per turn, shared by every call in it: a batch of Acquires
   * read from the sockets at once each applied a full budget, and a release storm held
   * up all I/O for 200 ms and more so. A call whose turn has spent the budget draws among
   * the keys available already (or answers CATCHING_UP, and tries again next turn with
   * a full one).
   */
  private tryInTurn<T>(attempt: (budget: number) => T | CatchingUp): T | CatchingUp {
    const before = this.pool.deadlineWork;
    const result = attempt(Math.max(0, this.budget - this.turnWork));
    this.spendInTurn(this.pool.deadlineWork - before);
    return result;
  }

  /**
   * Tries a pool call again while it answers CATCHING_UP (a deadline backlog larger
   * than one call's budget), yielding to the event loop before each try: each try is
   * bounded work and shrinks the backlog, and other calls run in between.
   */
  private async untilCaughtUp<T>(attempt: (budget: number) => T | CatchingUp): Promise<T> {
    for (;;) {
      this.sweeper.poke();
      await yieldToEventLoop();
      const result = this.tryInTurn(attempt);
      if (result !== CATCHING_UP) return result;
    }
  }
}

/**
 * The event with its caller's name, built field by field: a spread of events of two shapes
 * (with a lease and without) took V8's slow path, 3.5% of a REST call with tokens.
 */
function withCaller(event: KeyEvent, by: string): StoreKeyEvent {
  const { type, keyId, at, lease } = event;
  return lease === undefined ? { type, keyId, at, by } : { type, keyId, at, lease, by };
}
