/**
 * `npm run bench:profile`: where a server's CPU goes under a gRPC or REST load.
 *
 * Runs the compiled service (`node --cpu-prof dist/src/main.js`) and, side by side, the
 * bare baselines of bench:load (bare grpc-js; bare node:http), each under the same h2load
 * or wrk run, then reads the V8 CPU profiles and prints self time by layer (Node's
 * HTTP/2 and HTTP internals, grpc-js, protobuf, the service's own code, GC, idle) and
 * the hottest functions. The difference between service and baseline is what the
 * service adds per call.
 *
 *   npm run bench:profile -- [--workload Get|KeepAlive|Create|Acquire+Release] [--rest] [--redis] [--auth] [--seconds N] [--top N] [--keep]
 *
 * With --redis, the service on the Redis store (its own redis-server, on the load CPU) is
 * profiled beside the same service on the memory store instead of a bare baseline: where
 * the Redis store's extra time per call goes. With --auth the service checks bearer tokens
 * and every request carries one (as bench:load --auth).
 *
 * Only the load's last seconds are summarized (the service's fill of the pool before is not).
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildService } from "./load/build";
import { compiledServer, removeCompiled } from "./load/compile";
import { fillPool, grpcOf, httpOf, started, type Target } from "./load/targets";
import { JsonProcess, launch, setPinning, stopAll } from "./load/procs";
import { settingsFor } from "./load/settings";
import { h2load, wrk } from "./load/tools";
import { grpcFrame, grpcWorkloads, restWorkloads } from "./load/workloads";
import { enableAuth } from "./load/auth";
import { liveKey } from "./load/memory";
import { startBenchRedis } from "./load/redis";
import { summarize } from "./profile-summary";

const argv = process.argv.slice(2);
const value = (name: string): string | undefined => {
  const at = argv.indexOf(name);
  return at < 0 ? undefined : argv[at + 1];
};
const rest = argv.includes("--rest");
const workloadName = value("--workload") ?? "Get";
const seconds = Number(value("--seconds") ?? 8);
const top = Number(value("--top") ?? 15);
const keep = argv.includes("--keep");
const onRedis = argv.includes("--redis");
const withAuth = argv.includes("--auth");

async function profileTarget(name: string, command: readonly string[], dir: string, env: Readonly<Record<string, string>>, cpu: number): Promise<{ target: Target; profileDir: string }> {
  const profileDir = join(dir, name.replace(/\W+/g, "-"));
  const child = launch(process.execPath, ["--cpu-prof", `--cpu-prof-dir=${profileDir}`, ...command], { cpu, env });
  return { target: await started(name, new JsonProcess(name, child)), profileDir };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "bench-profile-"));
  const pinned = setPinning(true);
  buildService();
  const settings = settingsFor(false, dir, {});
  const env = {
    HOST: "127.0.0.1",
    GRPC_PORT: "0",
    PORT: "0",
    LOG_LEVEL: "warn",
    MAX_KEYS: "100000000",
    KEY_TTL: "1h",
    BLOCK_TTL: "2s",
    ...(withAuth ? enableAuth(dir) : {}),
  };
  const redis = onRedis ? await startBenchRedis({ cpu: 1 }) : undefined;
  const runs = [
    { name: "service", command: ["dist/src/main.js"], env },
    redis === undefined
      ? { name: rest ? "bare node:http" : "bare grpc-js", command: [compiledServer("bench/load/baselines.ts"), rest ? "node" : "grpc"], env: {} }
      : { name: "service on Redis", command: ["dist/src/main.js"], env: { ...env, STORE: "redis", REDIS_URL: redis.url, REDIS_PREFIX: "bench:" } },
  ];
  const report: string[] = [`bench:profile ${rest ? "REST" : "gRPC"} ${workloadName}, ${seconds} s each, ${pinned ? "server on CPU 0, load on CPU 1" : "no pinning"}`];
  try {
    for (const run of runs) {
      const { target, profileDir } = await profileTarget(run.name, run.command, dir, run.env, 0);
      const isService = run.name.startsWith("service");
      if (isService) await fillPool(target, 1e5, settings);
      const keyId = isService ? await liveKey(grpcOf(target)) : "bench-key";
      if (rest) {
        const workload = restWorkloads(keyId).find((w) => w.name === workloadName) ?? fail(`no REST workload ${workloadName}`);
        const result = await wrk({ baseUrl: httpOf(target), lua: workload.lua, connections: 64, seconds, cpu: 1, dir });
        report.push(`${run.name}: ${result.rps.toFixed(0)} req/s`);
      } else {
        const workload = grpcWorkloads(keyId).find((w) => w.name === workloadName) ?? fail(`no gRPC workload ${workloadName}`);
        const bodyFile = join(dir, "body.bin");
        writeFileSync(bodyFile, grpcFrame(workload.message));
        const { result } = await h2load({ urls: workload.methods.map((m) => `http://${grpcOf(target)}${m}`), bodyFile, clients: 8, streams: 32, seconds, cpu: 1, dir });
        report.push(`${run.name}: ${result.rps.toFixed(0)} req/s`);
      }
      await target.process.stop(); // SIGTERM: V8 writes the profile on a clean exit
      const [file] = readdirSync(profileDir).filter((f) => f.endsWith(".cpuprofile"));
      if (file === undefined) throw new Error(`${run.name} wrote no CPU profile`);
      // The load's seconds and the stop after it: the fill before is not what is compared.
      report.push(...summarize(join(profileDir, file), run.name, seconds + 1, top));
    }
  } finally {
    await stopAll();
    removeCompiled();
    if (keep) console.log(`profiles kept in ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
  console.log(report.join("\n"));
}

function fail(message: string): never {
  throw new Error(message);
}

main().catch(async (error: unknown) => {
  await stopAll();
  console.error(`bench:profile: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
