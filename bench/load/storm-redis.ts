/**
 * The Redis side of the storms, all on connections of the bench's own (never
 * the service's):
 * - the fill writes the pool's five structures directly (layout in
 *   src/store/redis/lua/prelude.lua) in big pipelined batches: 10^6 keys
 *   through the Create script would take minutes and spread the deadlines;
 * - a PING every few ms on its own connection: what any other client of this
 *   Redis waits while the service works through the backlog;
 * - a poller of the passed-but-unapplied deadlines (ZCOUNT up to now), whose
 *   first zero after the instant is when the backlog is gone;
 * - SLOWLOG, for the longest single command Redis ran, scripts named.
 */
import { createHash } from "node:crypto";
import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import type Redis from "ioredis";
import { OPERATIONS, scriptSource } from "../../src/store/redis/scripts";
import { launch } from "./procs";
import type { StormKind } from "./storm-kinds";

/** The pool's five Redis keys, as RedisStore names them (hash tag {pool}: one cluster slot). */
export function poolKeys(prefix: string): { expiry: string; release: string; available: string; created: string; blocked: string } {
  const key = (name: string): string => `${prefix}{pool}:${name}`;
  return { expiry: key("expiry"), release: key("release"), available: key("available"), created: key("created"), blocked: key("blocked") };
}

export interface RedisFillPlan {
  readonly kind: StormKind;
  /** The storm's keys: every deadline of the kind falls on the instant. Sorted: see fillRedis. */
  readonly stormIds: readonly string[];
  /** Available keys beside them (release: what the steady Acquires draw). */
  readonly spareIds: readonly string[];
  /** The steady load's named key: available, far from any deadline. */
  readonly liveId: string;
  /** Time from the end of the fill to the instant (ms). */
  readonly leadMs: number;
}

export interface RedisFilled {
  /** The storm's deadline, ms since the epoch. */
  readonly instant: number;
  readonly ms: number;
}

const BATCH = 5000;
const FAR_MS = 3_600_000;

/**
 * Replaces the pool with the plan's keys. expiry/capacity: storm keys available, expiring at
 * the instant; release: storm keys blocked (release ZSET + blocked HASH), released at the
 * instant, expiring far later. Every other key is available and far from its deadline.
 *
 * Redis itself is the bottleneck (~2–5 µs a sorted-set member), so: the writes go through
 * `redis-cli --pipe` (Redis's mass-insertion mode) as raw RESP; the storm's members are
 * sorted, as members of equal score sit in the skiplist in id order (half the ZADD time of
 * random order); and the sorted set that carries the instant is written last, once the rest
 * is in, with the instant set `leadMs` past its expected end (`zsetMsPerKey` from the previous
 * fill, updated here), so a slow fill cannot eat the window before the storm.
 */
export class RedisFiller {
  /** Expected ms per member of the last sorted set: generous until a fill has measured it. */
  private zsetMsPerKey = 0.006;

  constructor(
    private readonly redis: Redis,
    private readonly port: number,
    private readonly prefix: string,
  ) {}

  async fill(plan: RedisFillPlan): Promise<RedisFilled> {
    const started = Date.now();
    const keys = poolKeys(this.prefix);
    // UNLINK frees the old structures on a background thread: a DEL of 10^6 members would itself block Redis.
    await this.redis.unlink(keys.expiry, keys.release, keys.available, keys.created, keys.blocked);
    const now = Date.now();
    const far = now + FAR_MS;
    const release = plan.kind === "release";
    const others = [plan.liveId, ...plan.spareIds];
    const storm = plan.stormIds;
    await pipe(this.port, function* () {
      for (const ids of batches(others)) {
        yield resp(["ZADD", keys.expiry, ...pairs(ids, far)]);
        yield resp(["HSET", keys.created, ...pairs(ids, now, true)]);
        yield resp(["SADD", keys.available, ...ids]);
      }
      for (const ids of batches(storm)) {
        yield resp(["HSET", keys.created, ...pairs(ids, now, true)]);
        if (release) {
          yield resp(["ZADD", keys.expiry, ...pairs(ids, far)]);
          yield resp(["HSET", keys.blocked, ...pairs(ids, now, true)]);
        } else {
          yield resp(["SADD", keys.available, ...ids]);
        }
      }
    });
    const last = Date.now();
    const instant = last + Math.ceil(storm.length * this.zsetMsPerKey) + plan.leadMs;
    const zset = release ? keys.release : keys.expiry;
    await pipe(this.port, function* () {
      for (const ids of batches(storm)) yield resp(["ZADD", zset, ...pairs(ids, instant)]);
    });
    const done = Date.now();
    this.zsetMsPerKey = Math.max(0.001, (1.5 * (done - last)) / Math.max(1, storm.length));
    return { instant, ms: done - started };
  }
}

function* batches(ids: readonly string[]): Generator<readonly string[]> {
  for (let at = 0; at < ids.length; at += BATCH) yield ids.slice(at, at + BATCH);
}

/** Sends RESP commands through `redis-cli --pipe`, minding back-pressure; throws on any error reply. */
async function pipe(port: number, commands: () => Generator<string>): Promise<void> {
  const child = launch("redis-cli", ["-h", "127.0.0.1", "-p", String(port), "--pipe"], { stdin: true });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", resolve);
  });
  const stdin = child.stdin;
  if (stdin === null) throw new Error("redis-cli --pipe has no stdin");
  for (const command of commands()) {
    if (!stdin.write(command)) await new Promise((drained) => stdin.once("drain", drained));
  }
  stdin.end();
  const code = await exited;
  // redis-cli --pipe ends with "errors: E, replies: R".
  if (code !== 0 || /errors:\s*(\d+)/.exec(output)?.[1] !== "0") throw new Error(`redis-cli --pipe exited ${code}: ${output.trim()}`);
}

/** One command in RESP (every argument here is ASCII: ids are base64url, the rest digits and key names). */
function resp(args: readonly (string | number)[]): string {
  let out = `*${args.length}\r\n`;
  for (const arg of args) {
    const text = String(arg);
    out += `$${text.length}\r\n${text}\r\n`;
  }
  return out;
}

/** [score, member, …] for ZADD, or [member, value, …] for HSET (`memberFirst`). */
function pairs(ids: readonly string[], value: number, memberFirst = false): (string | number)[] {
  const out: (string | number)[] = new Array(2 * ids.length);
  ids.forEach((id, i) => {
    out[2 * i] = memberFirst ? id : value;
    out[2 * i + 1] = memberFirst ? value : id;
  });
  return out;
}

/** [sent at (epoch ms), round trip (ms)] */
export type Sample = readonly [number, number];

/**
 * A PING every `everyMs` on a connection of its own, whether or not the previous
 * one came back: while Redis runs one long command they queue, and each one's
 * round trip is how long a client arriving then waited.
 */
export class PingSampler {
  private readonly samples: Sample[] = [];
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly redis: Redis,
    everyMs: number,
  ) {
    this.timer = setInterval(() => {
      const sent = Date.now();
      const started = performance.now();
      this.redis.ping().then(
        () => this.samples.push([sent, performance.now() - started]),
        () => undefined, // a failed PING shows as a missing sample
      );
    }, everyMs);
  }

  /** Stops sending; resolves once every PING sent has come back. */
  async stop(): Promise<readonly Sample[]> {
    clearInterval(this.timer);
    await this.redis.ping().catch(() => undefined); // answered after every earlier one: same connection, in order
    return this.samples;
  }
}

export interface Backlog {
  /** First poll after the instant that found no passed deadline left (epoch ms); undefined: never, within the wait. */
  readonly clearedAt: number | undefined;
  /** Passed deadlines at the first poll after the instant. */
  readonly atInstant: number;
  readonly polls: number;
}

/**
 * Polls `ZCOUNT zset -inf now` (O(log n)), one poll at a time, every `everyMs` from the
 * instant until it reads 0 or `untilMs` passes. Nothing in the steady loads adds a passed
 * deadline to that set, so its count is the storm's backlog not yet applied.
 */
export async function watchBacklog(redis: Redis, zset: string, instant: number, untilMs: number, everyMs: number): Promise<Backlog> {
  // A timer may fire a millisecond early, and a poll before the instant would read 0.
  while (Date.now() < instant) await sleep(Math.max(1, instant - Date.now()));
  let atInstant = -1;
  let polls = 0;
  while (Date.now() < untilMs) {
    const due = await redis.zcount(zset, "-inf", Date.now());
    polls += 1;
    if (atInstant < 0) atInstant = due;
    if (due === 0) return { clearedAt: Date.now(), atInstant, polls };
    await sleep(everyMs);
  }
  return { clearedAt: undefined, atInstant, polls };
}

export interface SlowCommand {
  readonly ms: number;
  /** e.g. "EVALSHA acquire", "ZCOUNT storm:{pool}:release" */
  readonly command: string;
  /** When it ran (epoch s: SLOWLOG's resolution). */
  readonly atS: number;
}

/** Every command slower than `thresholdUs` from now on is logged (up to 128); the old log is dropped. */
export async function resetSlowlog(redis: Redis, thresholdUs: number): Promise<void> {
  await redis.config("SET", "slowlog-log-slower-than", String(thresholdUs));
  await redis.config("SET", "slowlog-max-len", "128");
  await redis.slowlog("RESET");
}

/** SLOWLOG GET 128, longest first, the service's scripts named by their SHA1. */
export async function readSlowlog(redis: Redis): Promise<SlowCommand[]> {
  const reply: unknown = await redis.slowlog("GET", 128);
  const entries: SlowCommand[] = [];
  for (const entry of Array.isArray(reply) ? (reply as unknown[]) : []) {
    // [id, unix time s, duration µs, [command, args…], client address, client name]
    if (!Array.isArray(entry)) continue;
    const [, atS, durationUs, args] = entry as unknown[];
    if (typeof durationUs !== "number" || typeof atS !== "number" || !Array.isArray(args)) continue;
    entries.push({ ms: durationUs / 1000, command: describe(args.map(String)), atS });
  }
  return entries.sort((a, b) => b.ms - a.ms);
}

// ioredis runs a defined command with EVALSHA of the SHA1 of its source: name them back.
const SOURCES = OPERATIONS.map((operation) => ({ operation, source: scriptSource(operation) }));
const BY_SHA = new Map(SOURCES.map(({ operation, source }) => [createHash("sha1").update(source).digest("hex"), operation]));

function describe(args: readonly string[]): string {
  const [command = "?", first = ""] = args;
  if (/^evalsha$/i.test(command)) return `EVALSHA ${BY_SHA.get(first.toLowerCase()) ?? first.slice(0, 8)}`;
  if (/^eval$/i.test(command)) return `EVAL ${scriptNamed(first)} (source sent: NOSCRIPT)`;
  return `${command.toUpperCase()} ${first}`.trim();
}

/**
 * SLOWLOG keeps 128 characters of an argument and says how many more there were: the
 * scripts' lengths differ, so the total names the one sent with EVAL (after a NOSCRIPT).
 */
function scriptNamed(logged: string): string {
  const more = /\.\.\. \((\d+) more bytes\)$/.exec(logged);
  const length = more === null ? Buffer.byteLength(logged) : Buffer.byteLength(logged.slice(0, more.index)) + Number(more[1]);
  const named = SOURCES.filter(({ source }) => Buffer.byteLength(source) === length);
  return named.length === 1 ? (named[0]?.operation ?? "a script") : "a script";
}
