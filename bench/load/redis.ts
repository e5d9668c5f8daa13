/**
 * Part 4: the same service with STORE=redis, against a redis-server of the
 * bench's own, measured side by side with the memory store on the same gRPC
 * workloads; the Redis commands each call costs, counted by Redis itself
 * (INFO); and redis-benchmark EVALSHA of a trivial script as Redis's own
 * ceiling for one script call per operation on this machine.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import Redis from "ioredis";
import { grpcRow, type Row } from "./compare";
import { cpuSeconds } from "./cpu";
import { liveKey } from "./memory";
import { TestRedis } from "../../test/support/redis-server";
import { launch, type LaunchOptions, runTool } from "./procs";
import type { Settings } from "./settings";
import { fillPool, grpcOf, startAll, startService, type Target } from "./targets";
import { h2load } from "./tools";
import { grpcFrame, grpcWorkloads, type GrpcWorkload } from "./workloads";

export interface RoundTrips {
  /** EVALSHA (and EVAL) calls Redis ran per service call. */
  readonly evalshaPerOp: number;
  /** Every command Redis ran per service call. */
  readonly commandsPerOp: number;
}

export interface RedisCeiling {
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly clients: number;
  readonly requests: number;
}

/**
 * CPU time per call, from /proc, over one counted run each: the service on memory, the
 * service on Redis, and redis-server. On this two-core machine Redis shares the load
 * generator's core, so a throughput ratio also measures that core; the service's own CPU
 * per call says what the Redis store costs the service, whatever the machine.
 */
export interface CpuPerCall {
  readonly memoryServiceUs: number;
  readonly redisServiceUs: number;
  readonly redisServerUs: number;
}

export interface RedisSection {
  readonly rows: readonly { readonly row: Row; readonly roundTrips: RoundTrips; readonly cpu: CpuPerCall }[];
  readonly ceiling: RedisCeiling;
}

/**
 * A redis-server of the bench's own (never the one on 6379), with no persistence at all:
 * the bench measures Redis, not the disk. `cpu`: pinned there (else it floats); `realtime`:
 * at real-time priority (see LaunchOptions).
 */
export function startBenchRedis({ cpu, realtime }: Pick<LaunchOptions, "cpu" | "realtime"> = {}): Promise<TestRedis> {
  return TestRedis.start({
    durable: false,
    spawnServer: (args) => {
      const child = launch("redis-server", args, { cpu, realtime: realtime === true }); // tracked, so it is stopped whatever happens
      child.stdout?.resume(); // nobody reads its log: drain it so a full pipe never blocks it
      child.stderr?.resume();
      return child;
    },
  });
}

export async function redisSection(settings: Settings, log: (line: string) => void): Promise<RedisSection> {
  // Redis runs on the load generator's core. On a deployment it has a machine of its own;
  // here, on the service's core (or floating onto it), its own Lua time would be charged
  // to the service, and the rows would compare two processes on one core against one.
  // Not in a smoke run (its figures are not judged): sharing a core with h2load at full
  // speed once left a 0.3 s smoke row with no answer at all on a slow machine.
  const redis = await startBenchRedis({ cpu: settings.smoke ? undefined : settings.loadCpu });
  const admin = redis.client();
  const targets: Target[] = [];
  try {
    const env = { KEY_TTL: "1h", BLOCK_TTL: settings.blockTtl };
    const [memory, onRedis] = (await startAll(
      [
        startService("memory store", settings, { ...env, STORE: "memory" }),
        startService("redis store", settings, { ...env, STORE: "redis", REDIS_URL: redis.url, REDIS_PREFIX: "bench:" }),
      ],
      targets,
    )) as [Target, Target];
    log(`redis: filling ${settings.pool} keys in each store`);
    await Promise.all([fillPool(memory, settings.pool, settings), fillPool(onRedis, settings.pool, settings)]);
    const memoryWorkloads = grpcWorkloads(await liveKey(grpcOf(memory)));
    const redisWorkloads = grpcWorkloads(await liveKey(grpcOf(onRedis)));
    const rows: { row: Row; roundTrips: RoundTrips; cpu: CpuPerCall }[] = [];
    const redisPid = Number(/process_id:(\d+)/.exec(await admin.info("server"))?.[1]);
    for (const [index, workload] of redisWorkloads.entries()) {
      log(`redis: gRPC ${workload.name}`);
      const memoryWorkload = memoryWorkloads[index] as GrpcWorkload;
      const roundTrips = await countRoundTrips(admin, onRedis, workload, settings);
      // A = redis, B = memory: the row's ratio is then redis ÷ memory.
      const row = await grpcRow([workload, memoryWorkload], [onRedis, memory], settings, settings.pool);
      const [memoryService] = await cpuPerCall(memory, memoryWorkload, [], settings);
      const [redisService, redisServer] = await cpuPerCall(onRedis, workload, [redisPid], settings);
      rows.push({ row, roundTrips, cpu: { memoryServiceUs: memoryService as number, redisServiceUs: redisService as number, redisServerUs: redisServer as number } });
    }
    log("redis: redis-benchmark EVALSHA");
    const ceiling = await evalshaCeiling(admin, redis.port, settings);
    return { rows, ceiling };
  } finally {
    admin.disconnect();
    await Promise.all(targets.map((target) => target.process.stop()));
    await redis.stop();
  }
}

/** A counted run (h2load -n) between two INFO snapshots: what Redis ran per call, sweeps included. */
async function countRoundTrips(admin: Redis, target: Target, workload: GrpcWorkload, settings: Settings): Promise<RoundTrips> {
  const calls = settings.smoke ? 200 : 2000;
  const bodyFile = join(settings.dir, "round-trips.bin");
  writeFileSync(bodyFile, grpcFrame(workload.message));
  const before = await commandCounts(admin);
  await h2load({
    urls: workload.methods.map((method) => `http://${grpcOf(target)}${method}`),
    bodyFile,
    clients: 1,
    streams: 8,
    seconds: 60,
    count: calls,
    cpu: settings.loadCpu,
    dir: settings.dir,
  });
  const after = await commandCounts(admin);
  // The INFO that took `before` is counted in `after`: one command that is not the service's.
  return { evalshaPerOp: (after.evalsha - before.evalsha) / calls, commandsPerOp: (after.total - before.total - 1) / calls };
}

/** CPU µs per call of the target's process and of `others`, over a counted run at the rows' concurrency. */
async function cpuPerCall(target: Target, workload: GrpcWorkload, others: readonly number[], settings: Settings): Promise<number[]> {
  const calls = settings.smoke ? 500 : 30_000;
  const bodyFile = join(settings.dir, "cpu-per-call.bin");
  writeFileSync(bodyFile, grpcFrame(workload.message));
  const pids = [target.process.child.pid as number, ...others];
  const before = pids.map(cpuSeconds);
  const { result } = await h2load({
    urls: workload.methods.map((method) => `http://${grpcOf(target)}${method}`),
    bodyFile,
    clients: settings.h2load.clients,
    streams: settings.h2load.streams,
    seconds: 120,
    count: calls,
    cpu: settings.loadCpu,
    dir: settings.dir,
  });
  if (result.errors > 0 || result.requests < calls) throw new Error(`${target.name}: ${result.errors} errors, ${result.requests} of ${calls} calls in the CPU-per-call run`);
  return pids.map((pid, i) => ((cpuSeconds(pid) - (before[i] as number)) * 1e6) / calls);
}

async function commandCounts(admin: Redis): Promise<{ evalsha: number; total: number }> {
  const stats = await admin.info("commandstats");
  const calls = (name: string): number => Number(new RegExp(`cmdstat_${name}:calls=(\\d+)`).exec(stats)?.[1] ?? 0);
  const total = Number(/total_commands_processed:(\d+)/.exec(await admin.info("stats"))?.[1] ?? Number.NaN);
  return { evalsha: calls("evalsha") + calls("eval"), total };
}

/** redis-benchmark EVALSHA of `return 1`: one script call per request, nothing else. */
async function evalshaCeiling(admin: Redis, port: number, settings: Settings): Promise<RedisCeiling> {
  const sha = (await admin.script("LOAD", "return 1")) as string;
  const { benchmarkRequests: requests, benchmarkClients: clients } = settings.redis;
  const result = await runTool("redis-benchmark", ["-p", String(port), "-n", String(requests), "-c", String(clients), "--csv", "EVALSHA", sha, "0"], {
    cpu: settings.loadCpu,
    timeoutMs: 120_000,
  });
  const row = result.stdout.split("\n").find((line) => line.startsWith('"EVALSHA'));
  if (result.code !== 0 || row === undefined) throw new Error(`redis-benchmark exited ${result.code}: ${result.stderr || result.stdout}`);
  // "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
  const cells = row.split('","').map((cell) => cell.replace(/"/g, ""));
  return { rps: Number(cells[1]), p50Ms: Number(cells[4]), p99Ms: Number(cells[6]), clients, requests };
}
