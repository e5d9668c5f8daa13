/**
 * `npm run bench:load`: the compiled service under network load, next to bare
 * baselines measured side by side in the same run (part 2), the storms of
 * deadlines on each store (part 3) and the Redis store against the memory store
 * (part 4). Every server, load generator and Redis is its own process, stopped
 * by pid at the end whatever happens.
 *
 *   --smoke              tiny sizes, short runs (npm test runs it so the bench cannot rot)
 *   --json FILE          also write the figures there (a full run always writes bench/results/load-<date>.json)
 *   --section NAME       memory | storm | redis (repeatable; default all). redis means everything on the
 *                        Redis store: the Redis-vs-memory rows and the storms on Redis. STORE=redis alone selects redis.
 *   --storm KIND         expiry | release | capacity (repeatable; default all)
 *   --storm-store STORE  memory | redis (repeatable; default: both with the storm section, else redis with the redis section)
 *   --no-storms          no storms at all (with --section redis: only the Redis-vs-memory rows)
 *   --transport NAME     grpc | rest: the memory section's rows of one transport only (default both)
 *   --auth               the service checks bearer tokens (AUTH_TOKENS_FILE) and every request carries one (memory section),
 *                        then the same service with tokens vs open, side by side (what the check costs)
 *   --seconds N, --rounds N, --no-pin, --no-build
 *
 * Exits 1 when figures are doubtful (failed calls, a drained pool, a storm's window cut
 * short; with --smoke, the storms' checks are printed but not judged): they are printed, marked "!".
 * A missed target is marked "!" too but is a figure, not a failure.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { enableAuth } from "./auth";
import { buildService } from "./build";
import type { Row } from "./compare";
import { removeCompiled } from "./compile";
import { authCostSection, memorySection, type Transport, TRANSPORTS } from "./memory";
import { ROOT, setPinning, stopAll } from "./procs";
import { type RedisSection, redisSection } from "./redis";
import { authCostTable, memoryTable, redisTable, stormTable } from "./report";
import { settingsFor } from "./settings";
import { type StormResult, stormSection } from "./storm";
import { STORM_KINDS, STORM_STORES, type StormKind, type StormStore } from "./storm-kinds";
import { requireTools } from "./tools";

const SECTIONS = ["memory", "storm", "redis"] as const;
type Section = (typeof SECTIONS)[number];

interface Options {
  readonly smoke: boolean;
  /** The service checks bearer tokens and every request carries one (memory section). */
  readonly auth: boolean;
  /** The memory section's transports (default both). */
  readonly transports: readonly Transport[];
  readonly json: string | undefined;
  readonly sections: readonly Section[];
  readonly storms: readonly StormKind[];
  /** Stores the storms run on; empty: no storms. */
  readonly stormStores: readonly StormStore[];
  readonly seconds: number | undefined;
  readonly rounds: number | undefined;
  readonly pin: boolean;
  readonly build: boolean;
}

function parseArgs(argv: readonly string[]): Options {
  const value = (flag: string): string | undefined => {
    const at = argv.indexOf(flag);
    return at >= 0 ? argv[at + 1] : undefined;
  };
  const count = (flag: string): number | undefined => {
    const text = value(flag);
    if (text === undefined) return undefined;
    const parsed = Number(text);
    if (!Number.isInteger(parsed) || parsed < 1) throw new Error(`${flag} takes a whole number ≥ 1`);
    return parsed;
  };
  // Every value of a repeatable flag, each checked against its allowed names.
  const all = <T extends string>(flag: string, allowed: readonly T[]): T[] => {
    const named = argv.flatMap((arg, i) => (argv[i - 1] === flag ? [arg] : []));
    for (const name of named) if (!(allowed as readonly string[]).includes(name)) throw new Error(`${flag} takes ${allowed.join(", ")}`);
    return named as T[];
  };
  const named = all("--section", SECTIONS);
  const sections: readonly Section[] = named.length > 0 ? named : process.env["STORE"] === "redis" ? ["redis"] : SECTIONS;
  const storms = all("--storm", STORM_KINDS);
  const stores = all("--storm-store", STORM_STORES);
  const defaultStores: readonly StormStore[] = sections.includes("storm") ? STORM_STORES : sections.includes("redis") ? ["redis"] : [];
  return {
    smoke: argv.includes("--smoke"),
    auth: argv.includes("--auth"),
    transports: all("--transport", TRANSPORTS).length > 0 ? all("--transport", TRANSPORTS) : TRANSPORTS,
    json: value("--json"),
    sections,
    storms: storms.length > 0 ? storms : STORM_KINDS,
    stormStores: argv.includes("--no-storms") ? [] : stores.length > 0 ? stores : defaultStores,
    seconds: count("--seconds"),
    rounds: count("--rounds"),
    pin: !argv.includes("--no-pin"),
    build: !argv.includes("--no-build"),
  };
}

async function main(): Promise<number> {
  const options = parseArgs(process.argv.slice(2));
  const onRedis = options.sections.includes("redis") || options.stormStores.includes("redis");
  const tools = [
    "h2load",
    ...(options.sections.includes("memory") ? ["wrk"] : []),
    ...(options.sections.includes("redis") ? ["redis-benchmark"] : []),
    ...(onRedis ? ["redis-server", "redis-cli"] : []),
  ];
  requireTools(tools);
  const pinned = setPinning(options.pin && cpus().length >= 2);
  // The server under test is the compiled one, as `npm start` runs it (build.ts).
  if (options.build) buildService();
  const dir = mkdtempSync(join(tmpdir(), "tokens-bench-load-"));
  const settings = settingsFor(options.smoke, dir, { seconds: options.seconds, rounds: options.rounds });
  const began = Date.now();
  const progress = (line: string): void => void process.stderr.write(`… ${((Date.now() - began) / 1000).toFixed(1)} s: ${line}\n`);
  const out: string[] = [];
  const print = (lines: readonly string[]): void => {
    console.log(lines.join("\n") + "\n");
    out.push(...lines);
  };
  print([
    `bench:load${options.smoke ? " --smoke" : ""}${options.auth ? " --auth" : ""}  node ${process.version}, ${cpus().length} CPUs, ` +
      (pinned ? `servers pinned to CPU ${settings.serverCpu}, load generators to CPU ${settings.loadCpu}` : "no CPU pinning"),
  ]);
  let memory: Row[] | undefined;
  /** With --auth: the service with tokens vs open, side by side. */
  let authCost: Row[] | undefined;
  let storm: StormResult[] | undefined;
  let redis: RedisSection | undefined;
  try {
    if (options.sections.includes("memory")) {
      // --auth: the memory section only (the ratio targets are its); storms and Redis run open.
      const authEnv = options.auth ? enableAuth(dir) : undefined;
      memory = await memorySection(settings, progress, authEnv ?? {}, options.transports);
      print(memoryTable(memory, settings));
      if (authEnv !== undefined) {
        authCost = await authCostSection(settings, progress, authEnv, options.transports);
        print(authCostTable(authCost, settings));
      }
    }
    if (options.stormStores.length > 0) {
      storm = await stormSection(settings, { kinds: options.storms, stores: options.stormStores }, progress);
      print(stormTable(storm, settings));
    }
    if (options.sections.includes("redis")) {
      redis = await redisSection(settings, progress);
      print(redisTable(redis));
    }
  } finally {
    await stopAll();
    removeCompiled();
    rmSync(dir, { recursive: true, force: true });
  }
  const report = { bench: "load", date: new Date().toISOString(), node: process.version, cpus: cpus().length, pinned, smoke: options.smoke, settings: { ...settings, dir: undefined }, memory, authCost, storm, redis };
  const files = [...(options.json === undefined ? [] : [options.json]), ...(options.smoke ? [] : [defaultResultFile()])];
  for (const file of files) writeFileSync(file, JSON.stringify(report, null, 2) + "\n");
  if (files.length > 0) console.log(`written: ${files.join(", ")}`);
  // A smoke storm's windows are a few hundred milliseconds on a machine that may be busy: its
  // window checks say nothing there, so only failed calls in the throughput rows fail a smoke run.
  const stormDoubtful = !options.smoke && (storm ?? []).some((result) => result.problems.length > 0);
  const doubtful = [...(memory ?? []), ...(authCost ?? []), ...(redis?.rows.map((entry) => entry.row) ?? [])].some((row) => row.problems.length > 0) || stormDoubtful;
  if (doubtful) console.log("some figures are doubtful (marked !): exit 1");
  else if (options.smoke && (storm ?? []).some((result) => result.problems.length > 0)) console.log("smoke: the storms' window checks (marked !) are not judged at this size");
  return doubtful ? 1 : 0;
}

function defaultResultFile(): string {
  const dir = join(ROOT, "bench", "results");
  mkdirSync(dir, { recursive: true });
  return join(dir, `load-${new Date().toISOString().slice(0, 19).replace(/:/g, "-")}Z.json`);
}

// Ctrl-C or a kill: stop what we started, then go.
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => void stopAll().finally(() => process.exit(130)));
}

main().then(
  (code) => process.exit(code),
  async (error: unknown) => {
    await stopAll();
    process.stderr.write(`bench:load: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
