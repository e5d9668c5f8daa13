import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import Redis from "ioredis";
import type { Clock } from "../../core/clock";
import { DomainError } from "../../core/errors";
import { randomKeyId } from "../../core/key-id";
import type { PoolSettings } from "../../core/key-pool";
import { CALLER_MADE_EVENTS, type KeyEventType } from "../../core/events";
import type { KeyRecord, KeyStore, PoolCounts, StoreKeyEvent } from "../port";
import { toStoreError } from "./errors";
import { defineScripts, type Operation, type ScriptAnswer, type ScriptReply, type ScriptRunner } from "./scripts";

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
/** sweep.lua: another instance is sweeping. */
const SWEPT_ELSEWHERE = -4;
/** Script answers (see lua/create.lua and lua/acquire.lua). */
const POOL_FULL = -1;
const ID_TAKEN = -2;
const CATCHING_UP = -3;

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
  /** This instance's id in the sweeper key. */
  private readonly instance = randomUUID();
  private sweeping = false;
  private closed = false;

  constructor(private readonly options: RedisStoreOptions) {
    this.redis = new Redis(options.url, {
      // Fail fast while disconnected instead of queueing calls: callers get UNAVAILABLE.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: options.commandTimeoutMs ?? 2000,
      // Reconnect forever, backing off to 1 s: the service recovers by itself.
      retryStrategy: (attempt) => Math.min(50 * attempt, 1000),
      lazyConnect: false,
    });
    this.redis.on("error", () => undefined); // reported through readiness and call failures
    this.redis.on("ready", () => this.notify(true));
    this.redis.on("close", () => this.notify(false));
    this.run = defineScripts(this.redis);
    // A hash tag keeps all six keys in one Redis Cluster slot.
    const tag = `${options.prefix}{pool}`;
    this.keys = ["expiry", "release", "available", "created", "blocked", "sweeper"].map((name) => `${tag}:${name}`);
    this.sweeper = setInterval(() => void this.backgroundSweep().catch(() => undefined), options.sweepIntervalMs ?? 1000);
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

  async create(by?: string): Promise<KeyRecord> {
    const { keyTtlMs, maxKeys } = this.options.settings;
    for (;;) {
      const reply = await this.call("create", [randomKeyId(), keyTtlMs, maxKeys], by);
      if (reply === POOL_FULL) throw new DomainError("capacity_exhausted", `the pool holds its maximum of ${maxKeys} keys`);
      // The id exists already (2^-128 odds): draw another.
      if (reply !== ID_TAKEN) return toRecord(reply);
    }
  }

  async acquire(by?: string): Promise<KeyRecord> {
    for (;;) {
      // Catching up: the script spent its budget on a backlog of deadlines; run it again.
      const reply = await this.call("acquire", [this.options.settings.blockTtlMs, this.budget], by);
      if (reply === null) throw new DomainError("no_available_key", "no key is available");
      if (reply !== CATCHING_UP) return toRecord(reply);
    }
  }

  async get(keyId: string): Promise<KeyRecord> {
    return toRecord(found(await this.call("get", [keyId])));
  }

  async release(keyId: string, by?: string): Promise<KeyRecord> {
    return toRecord(found(await this.call("release", [keyId], by)));
  }

  async keepAlive(keyId: string, by?: string): Promise<KeyRecord> {
    return toRecord(found(await this.call("keep-alive", [keyId, this.options.settings.keyTtlMs], by)));
  }

  async delete(keyId: string, by?: string): Promise<void> {
    found(await this.call("delete", [keyId], by));
  }

  async counts(): Promise<PoolCounts> {
    const reply = await this.call("counts", []);
    if (!Array.isArray(reply) || reply.length !== 3) throw new Error("unexpected counts reply");
    const [total, available, blocked] = reply.map(Number) as [number, number, number];
    return { total, available, blocked, cooling: 0 };
  }

  /** Applies every passed deadline now, in batches of one budget, one script each; returns how many. */
  async sweep(): Promise<number> {
    return this.sweepBatches("", false);
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
    this.redis.disconnect();
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
      const applied = Number(await this.call("sweep", [this.budget, instance]));
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
    for (let i = 0; i + 2 < events.length; i += 3) {
      const type = String(events[i]) as KeyEventType;
      const event: StoreKeyEvent = { type, keyId: String(events[i + 1]), at: Number(events[i + 2]), ...(by !== undefined && CALLER_MADE_EVENTS.has(type) ? { by } : {}) };
      for (const listener of this.eventListeners) listener(event);
    }
  }
}

function found(reply: ScriptReply): ScriptReply {
  if (reply === null) throw new DomainError("not_found", "key not found");
  return reply;
}

function toRecord(reply: ScriptReply): KeyRecord {
  // The message quotes nothing of the reply: it holds a key id.
  if (!Array.isArray(reply) || reply.length !== 5) throw new Error("unexpected record in a script reply");
  const [keyId, createdAt, expiresAt, blockedAt, releaseAt] = reply;
  return {
    keyId: String(keyId),
    createdAt: Number(createdAt),
    expiresAt: Number(expiresAt),
    blockedAt: Number(blockedAt) === ABSENT ? null : Number(blockedAt),
    releaseAt: Number(releaseAt) === ABSENT ? null : Number(releaseAt),
  };
}
