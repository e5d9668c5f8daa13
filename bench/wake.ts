/**
 * `npm run bench:wake`: how soon a waiting Acquire gets a key once one is freed,
 * on the memory store and across two instances on Redis (the freed key's PUBLISH
 * reaches the waiter's instance, which then runs its acquire script), against the
 * best a polling client could do: its own Release then Acquire, back to back.
 *
 *   release → waiter   a Release is sent; the waiter's answer arrives
 *   hold end → waiter  a hold ends by time, nobody calls; the waiter's answer arrives
 *                      (memory: the waiters' timer; Redis: that timer on the waiter's own
 *                      instance, since no instance is there to publish)
 *
 * Two service instances in one process, typed clients over real sockets. `--smoke`
 * runs a few rounds (npm run test:bench uses it so the bench cannot rot).
 */
import { writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { performance } from "node:perf_hooks";
import pino from "pino";
import { createTokenClient, type TokenClient } from "../clients";
import { type RunningApp, startApp } from "../src/app";
import { loadConfig } from "../src/config";
import { TestRedis } from "../test/support/redis-server";

const argv = process.argv.slice(2);
const smoke = argv.includes("--smoke");
const jsonAt = argv.indexOf("--json");
const jsonPath = jsonAt >= 0 ? argv[jsonAt + 1] : undefined;
const ROUNDS = smoke ? 5 : 200;
const TIMED_ROUNDS = smoke ? 1 : 10;
/** Long enough for a waiter's call to have reached the queue (the bench measures the wake, not the queueing). */
const SETTLE_MS = 20;

const seconds = (n: number) => ({ seconds: n, nanos: 0 });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Figures {
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

function figures(samples: number[]): Figures {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
  return { p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1] as number };
}

async function instance(env: Record<string, string>): Promise<{ app: RunningApp; client: TokenClient }> {
  const config = loadConfig({ HOST: "127.0.0.1", GRPC_PORT: "0", PORT: "0", LOG_LEVEL: "silent", ...env });
  const app = await startApp({ config, logger: pino({ level: "silent" }) });
  return { app, client: createTokenClient(app.grpcAddress) };
}

/** Waiter on `waiterSide`, the freeing call on `freerSide`; one key in the pool. */
async function measure(waiterSide: TokenClient, freerSide: TokenClient): Promise<Record<string, Figures>> {
  const { keyId } = await freerSide.create({});
  // The polling client's best: release, then acquire, back to back on one instance.
  const polling: number[] = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    const held = await waiterSide.acquire({});
    const started = performance.now();
    await waiterSide.release({ keyId: held.keyId, lease: held.lease });
    await waiterSide.acquire({});
    polling.push(performance.now() - started);
    await waiterSide.release({ keyId });
  }
  const released: number[] = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    const held = await freerSide.acquire({});
    const waiting = waiterSide.acquire({ wait: seconds(5) }, { timeoutMs: 10_000 });
    await sleep(SETTLE_MS);
    const started = performance.now();
    void freerSide.release({ keyId: held.keyId, lease: held.lease });
    const got = await waiting;
    released.push(performance.now() - started);
    await waiterSide.release({ keyId: got.keyId, lease: got.lease });
  }
  const timed: number[] = [];
  for (let round = 0; round < TIMED_ROUNDS; round += 1) {
    const held = await freerSide.acquire({ blockTtl: seconds(1) });
    const waiting = waiterSide.acquire({ wait: seconds(5) }, { timeoutMs: 10_000 });
    const got = await waiting;
    timed.push(Date.now() - (held.releaseAt?.getTime() ?? Number.NaN));
    await waiterSide.release({ keyId: got.keyId, lease: got.lease });
  }
  return { "release+acquire (polling's best)": figures(polling), "release → waiter": figures(released), "hold end → waiter": figures(timed) };
}

async function main(): Promise<void> {
  const results: Record<string, Record<string, Figures>> = {};
  const memory = await instance({});
  try {
    results["memory"] = await measure(memory.client, memory.client);
  } finally {
    memory.client.close();
    await memory.app.stop();
  }
  const redis = await TestRedis.start({ durable: false });
  const a = await instance({ STORE: "redis", REDIS_URL: redis.url });
  const b = await instance({ STORE: "redis", REDIS_URL: redis.url });
  try {
    results["redis, waiter on A, freed on B"] = await measure(a.client, b.client);
  } finally {
    for (const side of [a, b]) {
      side.client.close();
      await side.app.stop();
    }
    await redis.stop();
  }

  console.log(`waiting acquire: time to the waiter's answer, ms (p50 / p99 / max); ${ROUNDS} rounds, ${TIMED_ROUNDS} for holds ending by time`);
  for (const [store, rows] of Object.entries(results)) {
    console.log(store);
    const polling = rows["release+acquire (polling's best)"] as Figures;
    for (const [name, f] of Object.entries(rows)) {
      console.log(`  ${name.padEnd(34)} ${f.p50.toFixed(2).padStart(7)} ${f.p99.toFixed(2).padStart(7)} ${f.max.toFixed(2).padStart(7)}   p50 ÷ polling's best ${(f.p50 / polling.p50).toFixed(2)}`);
    }
  }
  if (jsonPath !== undefined) {
    writeFileSync(jsonPath, JSON.stringify({ bench: "wake", date: new Date().toISOString(), node: process.version, cpus: cpus().length, smoke, results }, null, 2) + "\n");
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
