/**
 * `npm run bench:list`: List pages through a large pool without any call scanning it.
 * A full walk, page_size 100, on a pool of 1e3 and of 1e6 keys, on both stores; ms per
 * page (p50, p99, max) and the 1e6 ÷ 1e3 ratio of the median page: O(page_size) means
 * about 1. On Redis the walk also records the slowest command Redis itself saw
 * (SLOWLOG, threshold 0), since a long script would stall every instance.
 *
 * The Redis pool is written directly (as the storm bench does: 1e6 Creates would take
 * minutes); the memory pool through the store. `--smoke`: 1e3 and 1e4 keys.
 */
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { performance } from "node:perf_hooks";
import Redis from "ioredis";
import { systemClock } from "../src/platform/system-clock";
import { MemoryStore } from "../src/store/memory/memory-store";
import type { KeyStore } from "../src/store/port";
import { RedisStore } from "../src/store/redis/redis-store";
import { TestRedis } from "../test/support/redis-server";
import { stopAll } from "./load/procs";
import { RedisFiller } from "./load/storm-redis-fill";

const argv = process.argv.slice(2);
const smoke = argv.includes("--smoke");
const jsonAt = argv.indexOf("--json");
const jsonPath = jsonAt >= 0 ? argv[jsonAt + 1] : undefined;
const SIZES = smoke ? [1e3, 1e4] : [1e3, 1e6];
const PAGE_SIZE = 100;
const PREFIX = "list-bench:";
const SETTINGS = { keyTtlMs: 3_600_000, blockTtlMs: 60_000, maxKeys: 1e8 };

interface Walk {
  readonly size: number;
  readonly pages: number;
  readonly distinct: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  /** Redis only: the slowest command Redis ran during the walk (µs). */
  readonly slowestCommandUs?: number;
}

async function walk(store: KeyStore, size: number): Promise<Omit<Walk, "slowestCommandUs">> {
  const times: number[] = [];
  const seen = new Set<string>();
  let token = "";
  do {
    const started = performance.now();
    const page = await store.list(token, PAGE_SIZE);
    times.push(performance.now() - started);
    for (const record of page.records) seen.add(record.keyId);
    token = page.nextPageToken;
  } while (token !== "");
  if (seen.size !== size) throw new Error(`the walk saw ${seen.size} keys of ${size}`);
  times.sort((a, b) => a - b);
  const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))] as number;
  return { size, pages: times.length, distinct: seen.size, p50: at(0.5), p99: at(0.99), max: times[times.length - 1] as number };
}

const ids = (count: number): string[] => Array.from({ length: count }, () => randomBytes(16).toString("base64url"));

async function main(): Promise<void> {
  const results: Record<string, Walk[]> = { memory: [], redis: [] };
  for (const size of SIZES) {
    const store = new MemoryStore(systemClock, SETTINGS);
    for (let i = 0; i < size; i += 1) await store.create();
    results["memory"]?.push(await walk(store, size));
    await store.close();
  }
  const server = await TestRedis.start({ durable: false });
  const admin = new Redis(server.url);
  const store = new RedisStore({ url: server.url, prefix: PREFIX, settings: SETTINGS });
  try {
    await store.connected(5000);
    const filler = new RedisFiller(admin, server.port, PREFIX);
    for (const size of SIZES) {
      const [liveId, ...spareIds] = ids(size);
      await filler.fill({ kind: "expiry", stormIds: [], spareIds, liveId: liveId as string, leadMs: 0 });
      await admin.config("SET", "slowlog-log-slower-than", "0");
      await admin.slowlog("RESET");
      const figures = await walk(store, size);
      const log = (await admin.slowlog("GET", 1000)) as [number, number, number, string[]][];
      const slowestCommandUs = Math.max(0, ...log.filter((entry) => !/^(slowlog|config)$/i.test(entry[3][0] ?? "")).map((entry) => entry[2]));
      results["redis"]?.push({ ...figures, slowestCommandUs });
    }
  } finally {
    await store.close();
    admin.disconnect();
    await server.stop();
    await stopAll();
  }

  console.log(`List, page_size ${PAGE_SIZE}, a full walk: ms per page (p50 / p99 / max)`);
  for (const [name, walks] of Object.entries(results)) {
    for (const w of walks) {
      const slowest = w.slowestCommandUs === undefined ? "" : `   slowest Redis command ${(w.slowestCommandUs / 1000).toFixed(2)} ms`;
      console.log(`${name.padEnd(7)} ${w.size.toExponential(0).padStart(6)} keys  ${String(w.pages).padStart(6)} pages  ${w.p50.toFixed(3).padStart(7)} ${w.p99.toFixed(3).padStart(7)} ${w.max.toFixed(3).padStart(8)}${slowest}`);
    }
    const [small, large] = walks as [Walk, Walk];
    console.log(`${name.padEnd(7)} median page ${large.size.toExponential(0)} ÷ ${small.size.toExponential(0)}: ${(large.p50 / small.p50).toFixed(2)}`);
  }
  if (jsonPath !== undefined) {
    writeFileSync(jsonPath, JSON.stringify({ bench: "list", date: new Date().toISOString(), node: process.version, cpus: cpus().length, smoke, pageSize: PAGE_SIZE, results }, null, 2) + "\n");
  }
}

main().catch((error: unknown) => {
  console.error(error);
  void stopAll().finally(() => process.exit(1));
});
