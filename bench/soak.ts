/**
 * `npm run soak`: does the service leak under a long run? A million mixed operations
 * with short lifetimes (KEY_TTL=2s, BLOCK_TTL=1s) go through the compiled service, run
 * as its own process, over gRPC with the typed client, 64 calls in flight, long Watch
 * and KeepAliveStream streams open all along (bench/soak/mix.ts). The service's heap,
 * RSS and handles come from its own GET /metrics (prom-client's process metrics), at
 * the start, every 10% and at the end.
 *
 * Start and end are compared like for like: the pool empty (every key expired), the
 * clients gone, right after a full GC (a SIGUSR2 hook preloaded into the service
 * process, bench/soak/gc-preload.ts). The start is taken after a warm-up of 5% of the
 * operations, so lazily built state (compiled code, the Watch retention ring, grown
 * pool arrays) counts as baseline rather than as a leak; the cold figures are printed too.
 *
 * Passes when the end heap is under 2 × the start heap + 20 MB, the handle count is back
 * to the start's ±3, no call answered a code other than OK, NOT_FOUND or ABORTED, and no
 * call went unanswered. Exits 1 otherwise.
 *
 *   --ops N          operations (default 1,000,000; --short: 30,000)
 *   --minutes M      stop earlier when the run takes this long (default 10; --short: 1)
 *   --store S        memory (default) or redis (its own redis-server on a free port)
 *   --short          the CI form (.ci/run): 30,000 operations, a few seconds
 *   --json FILE      also write the figures there (a full run writes bench/results/soak-<store>.json)
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { dirname, join } from "node:path";
import { compiledServer } from "./load/compile";
import { ROOT, stopAll } from "./load/procs";
import { startServiceProcess } from "./service-process";
import { EXPECTED_CODES, Mix, type MixCounts } from "./soak/mix";
import { type Snapshot, snapshot, snapshotAfterGc, waitForEmptyPool } from "./soak/snapshot";
import { TestRedis } from "../test/support/redis-server";

const CONCURRENCY = 64;
const LONG_WATCHES = 2;
const LONG_SESSIONS = 2;
const WARM_UP_SHARE = 0.05;
/** Longest a key outlives its last call: a 3 s lifetime (the longest the mix asks), plus a hold and a cooldown. */
const DRAIN_TIMEOUT_MS = 20_000;
const HEAP_BOUND = { factor: 2, plusBytes: 20 * 1024 * 1024 };
const HANDLE_SLACK = 3;

interface Options {
  readonly ops: number;
  readonly minutes: number;
  readonly store: "memory" | "redis";
  readonly short: boolean;
  readonly json: string | undefined;
}

function parseOptions(argv: readonly string[]): Options {
  const value = (flag: string): string | undefined => {
    const at = argv.indexOf(flag);
    return at >= 0 ? argv[at + 1] : undefined;
  };
  const positive = (flag: string, fallback: number): number => {
    const text = value(flag);
    if (text === undefined) return fallback;
    const parsed = Number(text);
    if (!Number.isFinite(parsed) || parsed <= 0) throw new Error(`${flag} takes a number > 0`);
    return parsed;
  };
  const short = argv.includes("--short");
  const store = value("--store") ?? "memory";
  if (store !== "memory" && store !== "redis") throw new Error("--store takes memory or redis");
  return {
    ops: Math.round(positive("--ops", short ? 30_000 : 1_000_000)),
    minutes: positive("--minutes", short ? 1 : 10),
    store,
    short,
    json: value("--json") ?? (short ? undefined : join(ROOT, "bench", "results", `soak-${store}.json`)),
  };
}

const mb = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1);

function snapshotRow(label: string, ops: number, s: Snapshot): string {
  return [
    label.padEnd(14),
    String(ops).padStart(9),
    mb(s.heapUsed).padStart(9),
    mb(s.heapTotal).padStart(10),
    mb(s.rss).padStart(8),
    mb(s.external).padStart(9),
    String(s.handles).padStart(8),
    String(s.resources).padStart(10),
    String(s.openFds).padStart(9),
    String(s.keys).padStart(7),
  ].join(" ");
}

const SNAPSHOT_HEADER = ["", "ops", "heap MB", "heap tot", "RSS MB", "extern MB", "handles", "resources", "open fds", "keys"]
  .map((title, i) => (i === 0 ? title.padEnd(14) : title.padStart([9, 9, 10, 8, 9, 8, 10, 9, 7][i - 1] ?? 0)))
  .join(" ");

/** Answers by code over every operation, and the codes that are not expected. */
function codeTotals(counts: MixCounts): { totals: Record<string, number>; unexpected: Record<string, number> } {
  const totals: Record<string, number> = {};
  for (const codes of Object.values(counts.byOp)) for (const [code, n] of Object.entries(codes)) totals[code] = (totals[code] ?? 0) + n;
  const unexpected = Object.fromEntries(Object.entries(totals).filter(([code]) => !EXPECTED_CODES.has(code)));
  return { totals, unexpected };
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const redis = options.store === "redis" ? await TestRedis.start({ durable: false }) : undefined;
  const service = await startServiceProcess({
    nodeArgs: ["--expose-gc", "--require", compiledServer("bench/soak/gc-preload.ts")],
    env: { KEY_TTL: "2s", BLOCK_TTL: "1s", ...(redis === undefined ? {} : { STORE: "redis", REDIS_URL: redis.url }) },
  });
  try {
    const deadline = Date.now() + options.minutes * 60_000;
    const warmUpOps = Math.max(1000, Math.round(options.ops * WARM_UP_SHARE));
    const mainOps = options.ops - warmUpOps;
    console.log(
      `soak: ${options.ops} mixed operations (${warmUpOps} of them warm-up) on the ${options.store} store, ${CONCURRENCY} in flight, ` +
        `${LONG_WATCHES} long watches, ${LONG_SESSIONS} KeepAliveStream sessions, KEY_TTL=2s BLOCK_TTL=1s; at most ${options.minutes} min`,
    );
    const cold = await snapshotAfterGc(service.process, service.http);

    // Warm-up, then the like-for-like baseline: clients gone, pool empty, after a full GC.
    const warmUp = new Mix(service.grpc, { concurrency: CONCURRENCY, watches: LONG_WATCHES, sessions: LONG_SESSIONS });
    await warmUp.run(warmUpOps, deadline, () => undefined);
    await warmUp.close();
    await waitForEmptyPool(service.http, DRAIN_TIMEOUT_MS);
    const start = await snapshotAfterGc(service.process, service.http);

    console.log("");
    console.log(SNAPSHOT_HEADER);
    console.log(snapshotRow("cold", 0, cold));
    console.log(snapshotRow("start (warm)", warmUpOps, start));
    const checkpoints: { percent: number; ops: number; snapshot: Snapshot }[] = [];
    const pending: Promise<void>[] = [];
    let nextPercent = 10;
    const mix = new Mix(service.grpc, { concurrency: CONCURRENCY, watches: LONG_WATCHES, sessions: LONG_SESSIONS });
    const began = Date.now();
    const done = await mix.run(mainOps, deadline, (n) => {
      // Every 10% of the operations: a snapshot under load (no GC: what a dashboard would show).
      while (n >= (mainOps * nextPercent) / 100 && nextPercent <= 100) {
        const percent = nextPercent;
        nextPercent += 10;
        pending.push(
          snapshot(service.http).then((s) => {
            checkpoints.push({ percent, ops: warmUpOps + n, snapshot: s });
            console.log(snapshotRow(`${percent}%`, warmUpOps + n, s));
          }),
        );
      }
    });
    const seconds = (Date.now() - began) / 1000;
    await Promise.all(pending);
    await mix.close();
    const drained = await waitForEmptyPool(service.http, DRAIN_TIMEOUT_MS);
    const end = await snapshotAfterGc(service.process, service.http);
    console.log(snapshotRow("end", warmUpOps + done, end));

    const { totals, unexpected } = codeTotals(mix.counts);
    const heapBound = HEAP_BOUND.factor * start.heapUsed + HEAP_BOUND.plusBytes;
    const checks = {
      heap: end.heapUsed < heapBound,
      handles: Math.abs(end.handles - start.handles) <= HANDLE_SLACK,
      codes: Object.keys(unexpected).length === 0,
      drained: drained.keys === 0,
    };
    const passed = Object.values(checks).every(Boolean);

    console.log("");
    console.log(`${done} operations in ${seconds.toFixed(1)} s: ${Math.round(done / seconds)} ops/s${done < mainOps ? ` (stopped at the ${options.minutes} min bound)` : ""}`);
    console.log(`answers by code: ${Object.entries(totals).map(([code, n]) => `${code} ${n}`).join(", ")}`);
    for (const [name, codes] of Object.entries(mix.counts.byOp).sort(([a], [b]) => a.localeCompare(b))) {
      console.log(`  ${name.padEnd(22)} ${Object.entries(codes).map(([code, n]) => `${code} ${n}`).join(", ")}`);
    }
    console.log(
      `long watches: ${mix.counts.watchEvents} events received; ended early: ${Object.entries(mix.counts.watchEndedEarly).map(([code, n]) => `${code} ${n}`).join(", ") || "none"}`,
    );
    console.log("");
    console.log(`heap used ${mb(start.heapUsed)} → ${mb(end.heapUsed)} MB (bound 2 × start + 20 MB = ${mb(heapBound)} MB): ${checks.heap ? "ok" : "EXCEEDED"}`);
    console.log(`handles ${start.handles} → ${end.handles} (±${HANDLE_SLACK}): ${checks.handles ? "ok" : "NOT BACK"}; RSS ${mb(start.rss)} → ${mb(end.rss)} MB, open fds ${start.openFds} → ${end.openFds} (reported, not judged)`);
    console.log(`unexpected codes (anything but ${[...EXPECTED_CODES].join(", ")}): ${checks.codes ? "none" : JSON.stringify(unexpected)}`);
    console.log(`pool empty after the run: ${checks.drained ? "yes" : `NO, ${drained.keys} keys left`}`);
    console.log(`verdict: ${passed ? "PASS" : "FAIL"}`);

    if (options.json !== undefined) {
      mkdirSync(dirname(options.json), { recursive: true });
      writeFileSync(
        options.json,
        JSON.stringify(
          {
            bench: "soak",
            date: new Date().toISOString(),
            node: process.version,
            cpus: cpus().length,
            store: options.store,
            settings: { ops: options.ops, warmUpOps, concurrency: CONCURRENCY, longWatches: LONG_WATCHES, longSessions: LONG_SESSIONS, keyTtl: "2s", blockTtl: "1s" },
            operations: warmUpOps + done,
            seconds,
            opsPerSecond: done / seconds,
            snapshots: { cold, start, checkpoints: checkpoints.sort((a, b) => a.percent - b.percent), end },
            answers: mix.counts,
            checks: { ...checks, heapBoundBytes: heapBound },
            passed,
          },
          null,
          2,
        ) + "\n",
      );
    }
    if (!passed) process.exitCode = 1;
  } finally {
    await service.stop();
    await stopAll();
    await redis?.stop();
  }
}

main().catch(async (error: unknown) => {
  console.error(error);
  await stopAll();
  process.exit(1);
});
