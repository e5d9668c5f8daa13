/**
 * The Redis side of the storms, all on connections of the bench's own (never
 * the service's):
 * - the fill (storm-redis-fill.ts) writes the pool's structures directly;
 * - a PING every few ms on its own connection, from a process of its own
 *   (ping-probe.ts): what any other client of this Redis waits while the
 *   service works through the backlog;
 * - a poller of the passed-but-unapplied deadlines (ZCOUNT up to now), whose
 *   first zero after the instant is when the backlog is gone;
 * - SLOWLOG, for the longest single command Redis ran, scripts named.
 */
import { createHash } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type Redis from "ioredis";
import { OPERATIONS, scriptSource } from "../../src/store/redis/scripts";
import type { TestRedis } from "../../test/support/redis-server";
import { compiledServer } from "./compile";
import { JsonProcess, launch } from "./procs";
import { startBenchRedis } from "./redis";
import { type StormKind, stormZset } from "./storm-kinds";
import { poolKeys, RedisFiller } from "./storm-redis-fill";

/** The service's REDIS_PREFIX in the storms. */
export const STORM_PREFIX = "storm:";

/** The Redis the Redis storms run on, and the bench's own connections to it (never the service's). */
export class RedisBench {
  private constructor(
    readonly server: TestRedis,
    readonly admin: Redis,
    private readonly poll: Redis,
    readonly filler: RedisFiller,
  ) {}

  /**
   * Redis floats, at real-time priority where the bench may give it (REALTIME_ALLOWED): on a
   * deployment it has a machine of its own, and here it shares two cores with the service, the
   * load generator and the bench. At normal priority SLOWLOG timed one-key commands at 60-95 ms
   * (the process waiting for a core mid-command, which SLOWLOG counts): the rig, not the scripts.
   */
  static async start(): Promise<RedisBench> {
    const server = await startBenchRedis({ realtime: true });
    const admin = server.client();
    return new RedisBench(server, admin, server.client(), new RedisFiller(admin, server.port, STORM_PREFIX));
  }

  /** From now until `finish`: SLOWLOG from empty, PINGs every `everyMs`, the backlog polled from the instant on (until `untilMs` at most). */
  async watch(kind: StormKind, instant: number, untilMs: number, everyMs: number, slowlogThresholdUs: number): Promise<RedisWatch> {
    await resetSlowlog(this.admin, slowlogThresholdUs);
    const pings = await PingProbe.start(this.server.url, everyMs);
    const backlog = watchBacklog(this.poll, poolKeys(STORM_PREFIX)[stormZset(kind)], instant, untilMs, everyMs);
    return {
      finish: async () => ({ pings: await pings.stop(), backlog: await backlog, slowlog: await readSlowlog(this.admin) }),
    };
  }

  async stop(): Promise<void> {
    for (const client of [this.admin, this.poll]) client.disconnect();
    await this.server.stop();
  }
}

export interface RedisWatch {
  /** Stops the PINGs, waits for the backlog to be gone (or the wait to end), reads SLOWLOG. */
  finish(): Promise<{ readonly pings: readonly Sample[]; readonly backlog: Backlog; readonly slowlog: readonly SlowCommand[] }>;
}

/** [sent at (epoch ms), round trip (ms)] */
export type Sample = readonly [number, number];

/**
 * ping-probe.ts in its own process at real-time priority, like the storms' Redis. The
 * bench's own process shares the load generator's core: a PING timed there read 846 ms in
 * a run whose slowest command took 14 ms, most likely its own event loop's wait; from the
 * probe, 32 ms at most over fifteen storm runs.
 */
class PingProbe {
  private constructor(private readonly probe: JsonProcess) {}

  static async start(url: string, everyMs: number): Promise<PingProbe> {
    const child = launch(process.execPath, [compiledServer("bench/load/ping-probe.ts"), url, String(everyMs)], { realtime: true, stdin: true });
    const probe = new JsonProcess("PING probe", child);
    await probe.waitFor((m) => (m["ready"] === true ? true : undefined), 10_000, "ready line");
    return new PingProbe(probe);
  }

  /** Stops sending; resolves with every sample once every PING sent has come back. */
  async stop(): Promise<readonly Sample[]> {
    this.probe.send("stop");
    const samples = await this.probe.waitFor((m) => samplesIn(m["samples"]), 30_000, "samples");
    await this.probe.stop();
    return samples;
  }
}

/** The probe's samples, if `value` is a list of [sent at, round trip] pairs. */
function samplesIn(value: unknown): Sample[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const samples: Sample[] = [];
  for (const entry of value as unknown[]) {
    if (!Array.isArray(entry) || typeof entry[0] !== "number" || typeof entry[1] !== "number") return undefined;
    samples.push([entry[0], entry[1]]);
  }
  return samples;
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
async function watchBacklog(redis: Redis, zset: string, instant: number, untilMs: number, everyMs: number): Promise<Backlog> {
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
async function resetSlowlog(redis: Redis, thresholdUs: number): Promise<void> {
  await redis.config("SET", "slowlog-log-slower-than", String(thresholdUs));
  await redis.config("SET", "slowlog-max-len", "128");
  await redis.slowlog("RESET");
}

/** SLOWLOG GET 128, longest first, the service's scripts named by their SHA1. */
async function readSlowlog(redis: Redis): Promise<SlowCommand[]> {
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
