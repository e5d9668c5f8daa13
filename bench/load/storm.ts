/**
 * Part 3, the storms (kinds in storm-kinds.ts) on each store: N keys whose
 * deadlines fall on one millisecond (the instant) while a steady, fixed-rate
 * gRPC load runs. The load's p99 in a window before the instant is compared
 * with its p99 across the storm, from the instant until the backlog of passed
 * deadlines is gone. h2load --rps sends on schedule with many streams open, so
 * a stalled event loop (or a blocked Redis) shows as latency instead of as
 * requests never sent. On Redis, a PING on its own connection and SLOWLOG show
 * what every other client of that Redis would have waited.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { createTokenClient, type TokenClient } from "../../clients";
import { randomKeyId } from "../../src/core/key-id";
import { liveKey } from "./memory";
import { fitsEveryBody } from "./workloads";
import { compiledServer } from "./compile";
import { JsonProcess, launch, REALTIME_ALLOWED } from "./procs";
import type { Settings } from "./settings";
import { answerProblems, type Creates, createsOf, type Latency, probe, summarize } from "./storm-checks";
import { type StormKind, type StormStore, stormEnv, steadyLoad } from "./storm-kinds";
import { RedisBench, type RedisWatch, type Sample, type SlowCommand, STORM_PREFIX } from "./storm-redis";
import { grpcOf, started, type Target } from "./targets";
import { h2load, type LoadResult } from "./tools";
import { grpcFrame } from "./workloads";

export interface StormWindow extends Latency {
  readonly fromMs: number;
  readonly seconds: number;
  /** Calls answered ÷ calls the schedule sends in the window: below 1, h2load fell behind (all streams waiting, or the machine stalled). */
  readonly sentShare: number;
  /** Longest event-loop stall the server saw in the window (a 5 ms timer's lateness). */
  readonly stallMs: number;
  /** Redis: PINGs sent in the window, on their own connection. */
  readonly ping?: Latency;
}

/** One storm: fill, steady load, backlog applied. */
export interface StormRun {
  /** Keys whose deadline is the instant. */
  readonly keys: number;
  readonly fillMs: number;
  /** The storm's deadline (ms since the epoch). */
  readonly instant: number;
  /** Last storm deadline minus first: 0 when the storm is on one millisecond. */
  readonly spreadMs: number;
  readonly before: StormWindow;
  readonly across: StormWindow;
  /** p99 across ÷ p99 before (target ≤ 2). */
  readonly p99Ratio: number;
  /** From the instant until no passed deadline is left; NaN: not within the wait. */
  readonly clearMs: number;
  /** Memory: sweeper slices in the backlog's run. Redis: backlog when first polled after the instant. */
  readonly slices?: number;
  readonly backlogAtInstant?: number;
  /** Redis: every PING sent while the load ran (the windows hold their own share). */
  readonly ping?: Latency;
  /** Redis: commands slower than the SLOWLOG threshold during the run, longest first. */
  readonly slowlog?: readonly SlowCommand[];
  /** Capacity: Creates sent from the instant on and the keys they made. */
  readonly creates?: Creates;
  readonly load: LoadResult;
  readonly problems: readonly string[];
}

export interface StormResult {
  readonly store: StormStore;
  readonly kind: StormKind;
  readonly keys: number;
  readonly steadyRps: number;
  /** What the steady load sends. */
  readonly load: string;
  readonly runs: readonly StormRun[];
  /** Median of the runs' p99 ratios. */
  readonly p99Ratio: number;
  /** Redis ran at real-time priority (RedisBench.start); undefined on memory. */
  readonly redisRealtime: boolean | undefined;
  /** Doubtful figures: the bench exits 1. */
  readonly problems: readonly string[];
}

export const STORM_TARGETS = { p99Ratio: 2, redisCommandMs: 50, slowlogThresholdUs: 10_000 } as const;

/**
 * h2load --rps sends on schedule only while a stream is free: with every stream waiting, it
 * sends late, and the latency of a call not sent on time goes unmeasured. 256 streams a
 * client keep the schedule up to half a second of latency at 500 calls/s a client.
 */
const STREAMS_PER_CLIENT = 256;
/** Below this share of the scheduled calls in the 'before' window, the reference is not a steady load. */
const MIN_SENT_SHARE = 0.9;
/** How often PING and the backlog poll run on Redis. */
export const POLL_MS = 5;
/** How long past the load's end the bench waits for the backlog to be gone (the figure is reported either way). */
const BACKLOG_GRACE_MS = 30_000;

/** The storm server, asked over stdin; answers are taken in order, per kind of message. */
class StormServer {
  private readonly taken = new Map<string, number>();

  constructor(readonly process: JsonProcess) {}

  send(line: string): void {
    this.process.send(line);
  }

  async next<T>(key: string, timeoutMs: number): Promise<T> {
    const skip = this.taken.get(key) ?? 0;
    const value = await this.process.waitFor(
      (message) => {
        if (typeof message["error"] === "string") throw new Error(`storm server: ${message["error"]}`);
        return key in message ? (message[key] as T) : undefined;
      },
      timeoutMs,
      key,
      skip,
    );
    this.taken.set(key, skip + 1);
    return value;
  }

  ask<T>(command: string, key: string, timeoutMs = 30_000): Promise<T> {
    this.send(command);
    return this.next<T>(key, timeoutMs);
  }
}

interface Filled {
  readonly keys: number;
  readonly ms: number;
  readonly instant: number;
  readonly spreadMs: number;
}

export async function stormSection(
  settings: Settings,
  plan: { readonly kinds: readonly StormKind[]; readonly stores: readonly StormStore[] },
  log: (line: string) => void,
): Promise<StormResult[]> {
  const results: StormResult[] = [];
  for (const store of plan.stores) {
    const redis = store === "redis" ? await RedisBench.start() : undefined;
    try {
      for (const kind of plan.kinds) results.push(await stormOf(kind, store, settings, redis, log));
    } finally {
      await redis?.stop();
    }
  }
  return results;
}

async function stormOf(kind: StormKind, store: StormStore, settings: Settings, redis: RedisBench | undefined, log: (line: string) => void): Promise<StormResult> {
  const storm = settings.storm;
  const env = {
    HOST: "127.0.0.1",
    GRPC_PORT: "0",
    PORT: "0",
    LOG_LEVEL: "warn",
    ...stormEnv(kind, store, storm),
    ...(redis === undefined ? {} : { REDIS_URL: redis.server.url, REDIS_PREFIX: STORM_PREFIX }),
  };
  // --expose-gc: the server collects the fill's garbage before the storm (see storm-server.ts).
  // BENCH_CPU_PROF=DIR: the storm server writes a V8 CPU profile there (bench/profile-summary.ts reads it).
  const profile = process.env["BENCH_CPU_PROF"] ? ["--cpu-prof", `--cpu-prof-dir=${process.env["BENCH_CPU_PROF"]}`] : [];
  const child = launch(process.execPath, ["--expose-gc", ...profile, compiledServer("bench/load/storm-server.ts")], { cpu: settings.serverCpu, stdin: true, env });
  const target = await started(`storm service (${store})`, new JsonProcess(`storm service (${store})`, child));
  const server = new StormServer(target.process);
  const client = createTokenClient(grpcOf(target));
  let keeper: NodeJS.Timeout | undefined;
  let keeperError: unknown;
  try {
    // Memory: the live key is made through the API before any fill; on Redis the fill writes it.
    // The live key rides in the steady load's one body, Acquire's too: its id must fit (fitsEveryBody).
    const liveId = redis === undefined ? await liveKey(grpcOf(target)) : fittingKeyId();
    if (redis === undefined && kind !== "release") {
      // KEY_TTL is the storm's lead here: keep the live key alive so only the storm's keys expire.
      const everyMs = Math.min(1000, storm.leadSeconds * 250);
      keeper = setInterval(() => {
        client.keepAlive({ keyId: liveId }, { timeoutMs: everyMs * 2 }).then(
          () => (keeperError = undefined),
          (error: unknown) => (keeperError = error),
        );
      }, everyMs);
    }
    // Redis: one set of ids per storm, sorted (see RedisFiller), rewritten for every run.
    const ids = redis === undefined ? undefined : { storm: Array.from({ length: storm.keys }, randomKeyId).sort(), spare: Array.from({ length: kind === "release" ? storm.spareKeys : 0 }, randomKeyId) };
    const workload = steadyLoad(kind, liveId);
    const bodyFile = join(settings.dir, `storm-${store}-${kind}.bin`);
    writeFileSync(bodyFile, grpcFrame(workload.message));
    const runs: StormRun[] = [];
    const failed: string[] = [];
    // A storm is one event on a noisy machine: repeat it and keep every run.
    for (let repeat = 0; repeat < storm.repeats; repeat += 1) {
      const label = `storm ${store} ${kind} ${repeat + 1}/${storm.repeats}`;
      try {
        log(`${label}: filling ${storm.keys} keys`);
        let filled: Filled;
        if (redis === undefined || ids === undefined) {
          filled = await server.ask<Filled>(`fill ${kind} ${storm.keys} ${storm.spareKeys}`, "fill", 600_000);
        } else {
          // From the fill's end: the warm-up and 'before' windows, and a margin for the fill's last write running late.
          const leadMs = (storm.warmSeconds + storm.beforeSeconds.redis) * 1000 * 1.2 + 200;
          const { instant, ms } = await redis.filler.fill({ kind, stormIds: ids.storm, spareIds: ids.spare, liveId, leadMs });
          filled = { keys: storm.keys, ms, instant, spreadMs: 0 };
        }
        runs.push(await runStorm(kind, store, settings, { target, server, client, redis, liveId, bodyFile, filled }, label, log));
      } catch (error) {
        // A run that cannot go on (e.g. the live key lost while the machine stalled) ends this storm, not the bench.
        const why = error instanceof Error ? error.message : String(error);
        const keeping = keeperError === undefined ? "" : ` (last keep-alive of the live key failed: ${keeperError instanceof Error ? keeperError.message : String(keeperError)})`;
        failed.push(`run ${repeat + 1} failed: ${why}${keeping}`);
        break;
      }
    }
    const ratios = runs.map((run) => run.p99Ratio).sort((x, y) => x - y);
    return {
      store,
      kind,
      keys: storm.keys,
      steadyRps: storm.clients * storm.ratePerClient,
      load: workload.measures,
      runs,
      p99Ratio: ratios[(ratios.length - 1) >> 1] ?? Number.NaN,
      redisRealtime: store === "redis" ? REALTIME_ALLOWED : undefined,
      problems: [...runs.flatMap((run, i) => run.problems.map((problem) => `run ${i + 1}: ${problem}`)), ...failed],
    };
  } finally {
    if (keeper !== undefined) clearInterval(keeper);
    client.close();
    await target.process.stop();
  }
}

interface RunContext {
  readonly target: Target;
  readonly server: StormServer;
  readonly client: TokenClient;
  readonly redis: RedisBench | undefined;
  readonly liveId: string;
  readonly bodyFile: string;
  readonly filled: Filled;
}

async function runStorm(kind: StormKind, store: StormStore, settings: Settings, context: RunContext, label: string, log: (line: string) => void): Promise<StormRun> {
  const storm = settings.storm;
  const { target, server, redis, filled } = context;
  const { instant } = filled;
  const problems: string[] = [];
  const workload = steadyLoad(kind, context.liveId);
  const expected = await probe(kind, grpcOf(target), workload.methods, grpcFrame(workload.message));
  const beforeMs = storm.beforeSeconds[store] * 1000;
  await sleep(Math.max(0, instant - beforeMs - storm.warmSeconds * 1000 - Date.now()));
  const loadStart = Date.now();
  if (instant - loadStart < beforeMs) {
    problems.push(`the load started ${instant - loadStart} ms before the instant: the 'before' window is cut short (raise leadSeconds)`);
  }
  const acrossMs = storm.acrossSeconds[store] * 1000;
  const loadEnd = instant + acrossMs;
  log(`${label}: steady load for ${((loadEnd - loadStart) / 1000).toFixed(1)} s, instant at ${new Date(instant).toISOString()}`);
  if (kind === "capacity") server.send(`count-created ${instant}`);
  const watch: RedisWatch | undefined = await redis?.watch(kind, instant, loadEnd + BACKLOG_GRACE_MS, POLL_MS, STORM_TARGETS.slowlogThresholdUs);
  const { result: load, entries } = await h2load({
    urls: workload.methods.map((method) => `http://${grpcOf(target)}${method}`),
    bodyFile: context.bodyFile,
    clients: storm.clients,
    streams: STREAMS_PER_CLIENT,
    ratePerClient: storm.ratePerClient,
    seconds: (loadEnd - Date.now()) / 1000,
    cpu: settings.loadCpu,
    dir: settings.dir,
  });
  const watched = await watch?.finish();
  const pingSamples: readonly Sample[] = watched?.pings ?? [];
  const slowlog: readonly SlowCommand[] | undefined = watched?.slowlog;
  let clearedAt: number | undefined;
  let slices: number | undefined;
  let backlogAtInstant: number | undefined;
  if (watched !== undefined) {
    clearedAt = watched.backlog.clearedAt;
    backlogAtInstant = watched.backlog.atInstant;
  } else {
    // Memory: the storm server reports it (see SweeperWatch in storm-server.ts).
    const backlog = await server.next<{ endMs: number; slices: number }>("backlog", Math.max(1000, loadEnd + BACKLOG_GRACE_MS - Date.now())).catch(() => undefined);
    clearedAt = backlog?.endMs;
    slices = backlog?.slices;
  }
  const stalls = await server.ask<[number, number][]>("stalls", "stalls");
  if (clearedAt === undefined) problems.push(`the backlog was not gone ${BACKLOG_GRACE_MS / 1000} s after the load ended`);
  else if (clearedAt > loadEnd) problems.push(`the backlog outlasted the load by ${clearedAt - loadEnd} ms: the 'across' window is cut short (raise acrossSeconds)`);
  const acrossEnd = Math.min(clearedAt ?? loadEnd, loadEnd);
  const creates = kind === "capacity" ? createsOf(entries, instant, await server.ask<number>("created", "created")) : undefined;
  problems.push(...answerProblems(load, expected, creates));
  try {
    await context.client.get({ keyId: context.liveId }, { timeoutMs: 5000 });
  } catch (error) {
    problems.push(`the live key did not survive the storm: ${error instanceof Error ? error.message : String(error)}`);
  }
  const rate = storm.clients * storm.ratePerClient;
  const window = (fromMs: number, toMs: number): StormWindow => {
    const latencies = entries.filter((e) => e.status === 200 && e.startUs / 1000 >= fromMs && e.startUs / 1000 < toMs).map((e) => e.latencyUs / 1000);
    return {
      fromMs,
      seconds: (toMs - fromMs) / 1000,
      sentShare: latencies.length / Math.max(1, (rate * (toMs - fromMs)) / 1000),
      ...summarize(latencies),
      // The watcher logs a stall when it ends: one that ends just after the window belongs to it.
      stallMs: stalls.filter(([at]) => at >= fromMs && at < toMs + 50).reduce((longest, [, ms]) => Math.max(longest, ms), 0),
      ...(redis === undefined ? {} : { ping: summarize(pingSamples.filter(([sent]) => sent >= fromMs && sent < toMs).map(([, ms]) => ms)) }),
    };
  };
  const before = window(instant - beforeMs, instant);
  const across = window(instant, acrossEnd);
  // h2load --rps sends in bursts: only a window of many calls shows whether it kept the schedule.
  if (before.sentShare < MIN_SENT_SHARE && before.seconds * rate >= 1000) {
    problems.push(`only ${(100 * before.sentShare).toFixed(0)}% of the scheduled calls were sent in the 'before' window (longest server stall ${before.stallMs} ms): no steady reference`);
  }
  return {
    keys: filled.keys,
    fillMs: filled.ms,
    instant,
    spreadMs: filled.spreadMs,
    before,
    across,
    p99Ratio: across.p99Ms / before.p99Ms,
    clearMs: clearedAt === undefined ? Number.NaN : clearedAt - instant,
    ...(slices === undefined ? {} : { slices }),
    ...(backlogAtInstant === undefined ? {} : { backlogAtInstant }),
    ...(redis === undefined ? {} : { ping: summarize(pingSamples.map(([, ms]) => ms)) }),
    ...(slowlog === undefined ? {} : { slowlog }),
    ...(creates === undefined ? {} : { creates }),
    load,
    problems,
  };
}

/** A fresh random key id that fits every body (the Redis storms write their ids themselves). */
function fittingKeyId(): string {
  for (;;) {
    const keyId = randomKeyId();
    if (fitsEveryBody(keyId)) return keyId;
  }
}
