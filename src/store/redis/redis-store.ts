import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import Redis from "ioredis";
import type { Clock } from "../../core/clock";
import { DomainError } from "../../core/errors";
import { randomKeyId } from "../../core/key-id";
import { granted, grantedCooldown, type KeyState, limitsOf, type PoolSettings, WATCH_RETENTION } from "../../core/key-pool";
import { CALLER_MADE_EVENTS, type KeyEventType } from "../../core/events";
import type { AcquireOptions, Caller, CreateOptions, KeepAliveOptions, KeyRecord, KeyStore, PoolCounts, ReleaseOptions, StoreKeyEvent } from "../port";
import { toStoreError } from "./errors";
import { RedisEventFeed } from "./event-feed";
import { defineScripts, type Operation, poolKeys, type ScriptAnswer, type ScriptReply, type ScriptRunner } from "./scripts";

export interface RedisStoreOptions {
  readonly url: string;
  /** Prefix of the pool's Redis keys; pools with different prefixes are independent. */
  readonly prefix: string;
  readonly settings: PoolSettings;
  /**
   * Tests only: a clock whose time is sent to the scripts. Without it the scripts
   * read Redis TIME, so every instance shares one clock and their skew is irrelevant.
   */
  readonly clock?: Clock;
  /** How often each instance sweeps passed deadlines (ms); reads never wait for it. */
  readonly sweepIntervalMs?: number;
  /** A call that Redis has not answered in this long fails with UNAVAILABLE. */
  readonly commandTimeoutMs?: number;
}

const ABSENT = -1;
/**
 * The Redis default of PoolSettings.deadlineBudget: smaller than the memory store's,
 * because a script blocks the whole server, for every instance, while it runs. 128
 * deadlines are a few batched commands, well under a millisecond of Redis time.
 */
export const REDIS_DEADLINE_BUDGET = 128;
/**
 * Most due releases one event-loop turn's Acquire scripts apply between them (at most the
 * deadline budget). Smaller than the sweeper's batch: during a release storm every steady
 * Acquire carried a full batch in its own script, and the callers paid for it (p50 across
 * the storm 7-14 ms with 128, 5-7 with 32, the backlog cleared about a tenth later; README).
 */
export const REDIS_ACQUIRE_RELEASE_BUDGET = 32;
/** sweep.lua: another instance is sweeping. */
const SWEPT_ELSEWHERE = -4;
/** Script answers (see lua/create.lua and lua/acquire.lua). */
const POOL_FULL = -1;
const ID_TAKEN = -2;
const CATCHING_UP = -3;
const LEASE_MISMATCH = -5;
const STATES: readonly (KeyState | undefined)[] = [undefined, "available", "leased", "cooling"];

/**
 * Many instances, one pool: every operation is one Lua script (EVALSHA), atomic
 * across instances. Random acquire is SPOP on a set (O(1)); deadlines are sorted
 * sets (O(log n)); each script applies the deadlines it could observe before
 * answering, so results are exact with no sweeper lag.
 */
export class RedisStore implements KeyStore {
  private readonly redis: Redis;
  private readonly run: ScriptRunner;
  private readonly keys: readonly string[];
  private readonly sweeper: NodeJS.Timeout;
  private readonly readyListeners = new Set<(ready: boolean) => void>();
  private readonly eventListeners: ((event: StoreKeyEvent) => void)[] = [];
  private readonly freedListeners: (() => void)[] = [];
  /** A second connection, in subscriber mode, for the `freed` channel (made on first need). */
  private subscriber: Redis | undefined;
  private readonly limits: ReturnType<typeof limitsOf>;
  /** This instance's id in the sweeper key. */
  private readonly instance = randomUUID();
  private sweeping = false;
  /** Release budget handed to this turn's Acquire scripts (see releaseBudgetInTurn). */
  private turnReserved = 0;
  private closed = false;
  readonly events: RedisEventFeed;

  constructor(private readonly options: RedisStoreOptions) {
    this.limits = limitsOf(options.settings);
    this.redis = new Redis(options.url, {
      // Fail fast while disconnected instead of queueing calls: callers get UNAVAILABLE.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: options.commandTimeoutMs ?? 2000,
      // Reconnect forever, backing off to 1 s: the service recovers by itself.
      retryStrategy: (attempt) => Math.min(50 * attempt, 1000),
      lazyConnect: false,
      // The scripts a turn sends (a batch of calls read from the sockets at once) go out in
      // one write: a write per call was a tenth of the service's CPU on Redis (bench:profile --redis).
      // The reader and the subscriber below send one command at a time and do without.
      enableAutoPipelining: true,
    });
    this.redis.on("error", () => undefined); // reported through readiness and call failures
    this.redis.on("ready", () => this.notify(true));
    this.redis.on("close", () => this.notify(false));
    this.run = defineScripts(this.redis);
    const tag = `${options.prefix}{pool}`;
    this.keys = poolKeys(options.prefix);
    this.events = new RedisEventFeed(this.redis, { revision: `${tag}:revision`, events: `${tag}:events` }, this.retention);
    // Often enough that an automatic event (a hold or a lifetime ending) reaches watchers well
    // within a second of its deadline; a sweep with nothing due is one cheap script.
    this.sweeper = setInterval(() => void this.backgroundSweep().catch(() => undefined), options.sweepIntervalMs ?? 250);
    this.sweeper.unref();
  }

  /** Resolves once connected (or rejects after `timeoutMs`). */
  async connected(timeoutMs = 5000): Promise<void> {
    if (this.redis.status === "ready") return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`Redis at ${this.options.url} not ready in ${timeoutMs} ms`)), timeoutMs);
      this.redis.once("ready", () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  async create(options: CreateOptions = {}): Promise<KeyRecord> {
    const { keyTtlMs, maxKeys } = this.options.settings;
    const lifetime = granted(options.ttlMs, keyTtlMs, this.limits.maxKeyTtlMs, "ttl");
    for (;;) {
      const reply = await this.call("create", [randomKeyId(), lifetime, maxKeys], options.by);
      if (reply === POOL_FULL) throw new DomainError("capacity_exhausted", `the pool holds its maximum of ${maxKeys} keys`);
      // The id exists already (2^-128 odds): draw another.
      if (reply !== ID_TAKEN) return toRecord(reply);
    }
  }

  async acquire(options: AcquireOptions = {}): Promise<KeyRecord> {
    const hold = granted(options.blockTtlMs, this.options.settings.blockTtlMs, this.limits.maxBlockTtlMs, "block_ttl");
    for (;;) {
      // Catching up: the script spent its budget on a backlog of deadlines; run it again.
      const reply = await this.call("acquire", [hold, this.budget, this.releaseBudgetInTurn()], options.by);
      if (reply === null) throw new DomainError("no_available_key", "no key is available");
      if (reply !== CATCHING_UP) return toRecord(reply);
    }
  }

  async get(keyId: string): Promise<KeyRecord> {
    return toRecord(found(await this.call("get", [keyId])));
  }

  async release(keyId: string, options: ReleaseOptions = {}): Promise<KeyRecord> {
    const cooldown = grantedCooldown(options.cooldownMs, this.limits.maxBlockTtlMs);
    return toRecord(fenced(await this.call("release", [keyId, options.lease ?? "", cooldown], options.by)));
  }

  async keepAlive(keyId: string, options: KeepAliveOptions = {}): Promise<KeyRecord> {
    return toRecord(fenced(await this.call("keep-alive", [keyId, options.lease ?? ""], options.by)));
  }

  async delete(keyId: string, options: Caller = {}): Promise<void> {
    found(await this.call("delete", [keyId], options.by));
  }

  async counts(): Promise<PoolCounts> {
    const reply = await this.call("counts", []);
    if (!Array.isArray(reply) || reply.length !== 4) throw new Error("unexpected counts reply");
    const [total, available, leased, cooling] = reply.map(Number) as [number, number, number, number];
    return { total, available, leased, cooling };
  }

  async list(pageToken: string, pageSize: number, state?: KeyState): Promise<{ readonly records: readonly KeyRecord[]; readonly nextPageToken: string }> {
    const { cursor, after } = positionOf(pageToken);
    const wanted = state === undefined ? "" : STATES.indexOf(state);
    const reply = await this.call("list", [cursor, after, Math.max(1, Math.floor(pageSize)), wanted]);
    if (!Array.isArray(reply) || reply.length < 2) throw new Error("unexpected list reply");
    const [next, resume, ...records] = reply as [string, string, ...(string | number)[][]];
    const position = { cursor: String(next), after: String(resume) };
    return { records: records.map(toRecord), nextPageToken: position.cursor === "0" && position.after === "" ? "" : tokenOf(position) };
  }

  async nextRelease(): Promise<number> {
    const reply = Number(await this.call("next-release", []));
    return reply < 0 ? Number.POSITIVE_INFINITY : reply;
  }

  onKeyFreed(listener: () => void): void {
    this.freedListeners.push(listener);
    if (this.subscriber === undefined) this.subscribe();
  }

  /** Applies every passed deadline now, in batches of one budget, one script each; returns how many. */
  async sweep(): Promise<number> {
    return this.sweepBatches("", false);
  }

  /**
   * The due releases this call's script may apply: one budget per event-loop turn, shared
   * by the Acquires this instance sends in it (reserved as they are sent: their work is
   * known only when they answer). A batch of Acquires read at once would otherwise queue
   * as many budgets' worth of scripts in Redis, and every instance's calls (and a PING)
   * wait behind them. The first Acquire of a turn gets the budget; the others draw among
   * the keys available already, or answer CATCHING_UP and try again. The turn's budget is
   * REDIS_ACQUIRE_RELEASE_BUDGET (or the deadline budget when smaller); the sweeper takes the rest.
   */
  private releaseBudgetInTurn(): number {
    const budget = Math.max(0, Math.min(this.budget, REDIS_ACQUIRE_RELEASE_BUDGET) - this.turnReserved);
    if (budget > 0) {
      if (this.turnReserved === 0) setImmediate(() => (this.turnReserved = 0));
      this.turnReserved += budget;
    }
    return budget;
  }

  /** How many events the pool's stream keeps at least (trimmed by the sweep). */
  private get retention(): number {
    return this.options.settings.watchRetention ?? WATCH_RETENTION;
  }

  /** Most deadlines one script applies: every script stays short, whatever the backlog. */
  private get budget(): number {
    return this.options.settings.deadlineBudget ?? REDIS_DEADLINE_BUDGET;
  }

  onKeyEvent(listener: (event: StoreKeyEvent) => void): void {
    this.eventListeners.push(listener);
  }

  isReady(): boolean {
    return !this.closed && this.redis.status === "ready";
  }

  onReadyChange(listener: (ready: boolean) => void): void {
    this.readyListeners.add(listener);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.sweeper);
    this.events.close();
    this.redis.disconnect();
    this.subscriber?.disconnect();
  }

  /**
   * The once-a-second sweep, only to reclaim memory (reads never wait for it). One
   * instance sweeps at a time (a lock key with a TTL): every instance sweeping a
   * backlog at once would add up to a saturated Redis.
   */
  private async backgroundSweep(): Promise<void> {
    if (this.sweeping || this.closed) return;
    this.sweeping = true;
    try {
      await this.sweepBatches(this.instance, true);
    } finally {
      this.sweeping = false;
    }
  }

  /**
   * Batches until the backlog is gone (or another instance holds the sweeper key).
   * `paced`: after each batch, leaves Redis idle for as long as the batch took, so a
   * backlog of a million deadlines never saturates it for everyone else.
   */
  private async sweepBatches(instance: string, paced: boolean): Promise<number> {
    let total = 0;
    for (;;) {
      const started = performance.now();
      const applied = Number(await this.call("sweep", [this.budget, instance, this.retention]));
      if (applied === SWEPT_ELSEWHERE) return total;
      total += applied;
      if (applied < this.budget || this.closed) return total;
      if (paced) await sleep(Math.max(1, performance.now() - started));
    }
  }

  private notify(ready: boolean): void {
    for (const listener of this.readyListeners) listener(ready && !this.closed);
  }

  /** Runs one script; reports the key events it made (a caller's change names `by`) and returns its result. */
  private async call(operation: Operation, args: readonly (string | number)[], by?: string): Promise<ScriptReply> {
    const now = this.options.clock === undefined ? "" : String(this.options.clock.now());
    let reply: unknown;
    try {
      reply = await this.run(operation, this.keys, [now, ...args]);
    } catch (error) {
      throw toStoreError(error);
    }
    if (!Array.isArray(reply) || reply.length !== 2 || !Array.isArray(reply[1])) throw new Error(`unexpected reply from the ${operation} script`);
    const [result, events] = reply as ScriptAnswer;
    if (this.eventListeners.length > 0) this.report(events, by);
    return result;
  }

  private report(events: readonly (string | number)[], by: string | undefined): void {
    for (let i = 0; i + 3 < events.length; i += 4) {
      const type = String(events[i]) as KeyEventType;
      const lease = Number(events[i + 3]);
      const event: StoreKeyEvent = {
        type,
        keyId: String(events[i + 1]),
        at: Number(events[i + 2]),
        ...(lease === ABSENT ? {} : { lease }),
        ...(by !== undefined && CALLER_MADE_EVENTS.has(type) ? { by } : {}),
      };
      for (const listener of this.eventListeners) listener(event);
    }
  }

  /** Listens on the pool's `freed` channel: any instance's script that made keys available publishes there. */
  private subscribe(): void {
    const subscriber = this.redis.duplicate({ enableOfflineQueue: true, enableAutoPipelining: false });
    this.subscriber = subscriber;
    subscriber.on("error", () => undefined); // reconnects by itself, and re-subscribes
    subscriber.on("message", () => {
      for (const listener of this.freedListeners) listener();
    });
    void subscriber.subscribe(this.keys[10] as string).catch(() => undefined);
  }
}

function found(reply: ScriptReply): ScriptReply {
  if (reply === null) throw new DomainError("not_found", "key not found");
  return reply;
}

/** As found(), and a lease that is not the key's current one is lease_mismatch. */
function fenced(reply: ScriptReply): ScriptReply {
  if (reply === LEASE_MISMATCH) throw new DomainError("lease_mismatch", "the lease is not the key's current lease");
  return found(reply);
}

/** Where a List walk stands: a ZSCAN cursor, and the last member of its batch already looked at. */
interface ListPosition {
  readonly cursor: string;
  readonly after: string;
}

/** List's page token, opaque to callers: "r", the cursor, and the member to resume after. */
function tokenOf(position: ListPosition): string {
  return Buffer.from(`r${position.cursor}.${position.after}`, "latin1").toString("base64url");
}

function positionOf(token: string): ListPosition {
  if (token === "") return { cursor: "0", after: "" };
  // Members are the store's own ids (base64url), so the token's text is a closed alphabet.
  const match = /^r(\d{1,20})\.([A-Za-z0-9_-]{0,128})$/.exec(Buffer.from(token, "base64url").toString("latin1"));
  if (match === null) throw new DomainError("invalid_argument", "page_token is not one this service made");
  return { cursor: match[1] as string, after: match[2] as string };
}

function toRecord(reply: ScriptReply): KeyRecord {
  // The message quotes nothing of the reply: it holds a key id.
  if (!Array.isArray(reply) || reply.length !== 8) throw new Error("unexpected record in a script reply");
  const [keyId, createdAt, expiresAt, blockedAt, releaseAt, state, ttl, lease] = reply;
  const orNull = (value: string | number | undefined): number | null => (Number(value) === ABSENT ? null : Number(value));
  return {
    keyId: String(keyId),
    createdAt: Number(createdAt),
    expiresAt: Number(expiresAt),
    blockedAt: orNull(blockedAt),
    releaseAt: orNull(releaseAt),
    state: STATES[Number(state)] ?? "available",
    ttlMs: Number(ttl),
    lease: orNull(lease),
  };
}
