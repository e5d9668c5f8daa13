/**
 * Part 3, the expiry storm: N keys whose deadlines fall within about a second
 * expire while a steady, fixed-rate gRPC Get load runs on a live key. The
 * steady load's p99 in a window before the storm is compared with its p99
 * while the sweeper removes the keys (from the first pool shrink to empty).
 * h2load --rps sends on schedule with many streams open, so a stalled event
 * loop shows as latency instead of as requests never sent.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { createTokenClient } from "../../clients";
import { GetRequest } from "../../clients/generated/tokens/v1/tokens";
import { compiledServer } from "./compile";
import { JsonProcess, launch } from "./procs";
import type { Settings } from "./settings";
import { grpcOf, started } from "./targets";
import { type H2loadEntry, h2load, percentile } from "./tools";
import { checkGrpc, grpcFrame, type GrpcWorkload } from "./workloads";

export interface StormWindow {
  readonly seconds: number;
  readonly requests: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** Longest event-loop stall the server saw in the window (a 5 ms timer's lateness). */
  readonly stallMs: number;
}

/** One storm: fill, steady load, sweep. */
export interface StormRun {
  readonly fillMs: number;
  /** Last deadline minus first: how "together" the storm is. */
  readonly deadlineSpreadMs: number;
  readonly before: StormWindow;
  readonly during: StormWindow;
  /** p99 during ÷ p99 before (target ≤ 2). */
  readonly p99Ratio: number;
  readonly sweepMs: number;
  readonly swept: number;
}

export interface StormResult {
  readonly keys: number;
  readonly steadyRps: number;
  readonly runs: readonly StormRun[];
  /** Median of the runs' p99 ratios. */
  readonly p99Ratio: number;
  readonly problems: readonly string[];
}

interface Fill {
  readonly keys: number;
  readonly ms: number;
  readonly firstDeadline: number;
  readonly lastDeadline: number;
}

interface Sweep {
  readonly startMs: number;
  readonly endMs: number;
  readonly swept: number;
  /** [when (epoch ms), how long (ms)] */
  readonly stalls: readonly (readonly [number, number])[];
}

const STREAMS_PER_CLIENT = 64;

export async function stormSection(settings: Settings, log: (line: string) => void): Promise<StormResult> {
  const storm = settings.storm;
  const child = launch(process.execPath, [compiledServer("bench/load/storm-server.ts")], {
    cpu: settings.serverCpu,
    stdin: true,
    env: { HOST: "127.0.0.1", GRPC_PORT: "0", PORT: "0", LOG_LEVEL: "warn", STORE: "memory", MAX_KEYS: "100000000", KEY_TTL: `${storm.keyTtlSeconds}s` },
  });
  const target = await started("storm service", new JsonProcess("storm service", child));
  const client = createTokenClient(grpcOf(target));
  let keeper: NodeJS.Timeout | undefined;
  try {
    // The live key exists before the fill and is kept alive, so only the filled keys expire.
    const { keyId } = await client.create({}, { timeoutMs: 5000 });
    keeper = setInterval(() => void client.keepAlive({ keyId }, { timeoutMs: 5000 }).catch(() => undefined), 1000);
    const get: GrpcWorkload = { name: "storm", measures: "", methods: ["/tokens.v1.TokenService/Get"], message: GetRequest.encode({ keyId }).finish(), acquireShare: 0 };
    const frame = grpcFrame(get.message);
    const bodyFile = join(settings.dir, "storm-get.bin");
    writeFileSync(bodyFile, frame);
    const expectedBytes = await checkGrpc(grpcOf(target), get, frame);
    const problems: string[] = [];
    const runs: StormRun[] = [];
    // A storm is one event on a noisy machine: repeat it and keep every run.
    for (let repeat = 0; repeat < storm.repeats; repeat += 1) {
      log(`storm ${repeat + 1}/${storm.repeats}: filling ${storm.keys} keys in-process`);
      target.process.send(`fill ${storm.keys}`);
      const fill = await target.process.waitFor((m) => m["fill"] as Fill | undefined, 300_000, "the fill", repeat);
      const lead = fill.firstDeadline - Date.now();
      if (lead < storm.beforeSeconds * 1000 + 500) problems.push(`only ${lead} ms of steady load before storm ${repeat + 1}: raise KEY_TTL`);
      const seconds = (fill.lastDeadline - Date.now()) / 1000 + storm.afterSeconds;
      log(`storm ${repeat + 1}/${storm.repeats}: steady load for ${seconds.toFixed(1)} s, deadlines ${new Date(fill.firstDeadline).toISOString()} … +${fill.lastDeadline - fill.firstDeadline} ms`);
      const { result, entries } = await h2load({
        urls: get.methods.map((method) => `http://${grpcOf(target)}${method}`),
        bodyFile,
        clients: storm.clients,
        streams: STREAMS_PER_CLIENT,
        ratePerClient: storm.ratePerClient,
        seconds,
        cpu: settings.loadCpu,
        dir: settings.dir,
      });
      const sweep = await target.process.waitFor((m) => m["sweep"] as Sweep | undefined, 120_000, "the end of the sweep", repeat);
      if (result.errors > 0 || (result.bytesPerResponse ?? 0) < 0.95 * expectedBytes) {
        problems.push(`storm ${repeat + 1}: steady load had failures (${result.errors} errors, ${result.bytesPerResponse?.toFixed(1)} B/answer)`);
      }
      const loadEnd = entries.reduce((latest, e) => Math.max(latest, e.startUs / 1000), 0);
      if (loadEnd < sweep.endMs) problems.push(`storm ${repeat + 1}: the steady load ended before the sweep did: the 'during' window is cut short`);
      await client.get({ keyId }, { timeoutMs: 5000 }); // the live key survived the storm
      const start = Math.min(sweep.startMs, fill.firstDeadline);
      const before = window(entries, sweep, start - storm.beforeSeconds * 1000, start, 0);
      // The watcher logs a stall when it ends: one that ends just after the pool is swept belongs to the storm.
      const during = window(entries, sweep, start, sweep.endMs, 50);
      runs.push({
        fillMs: fill.ms,
        deadlineSpreadMs: fill.lastDeadline - fill.firstDeadline,
        before,
        during,
        p99Ratio: during.p99Ms / before.p99Ms,
        sweepMs: sweep.endMs - sweep.startMs,
        swept: sweep.swept,
      });
    }
    const ratios = runs.map((run) => run.p99Ratio).sort((x, y) => x - y);
    return { keys: storm.keys, steadyRps: storm.clients * storm.ratePerClient, runs, p99Ratio: ratios[(ratios.length - 1) >> 1] as number, problems };
  } finally {
    if (keeper !== undefined) clearInterval(keeper);
    client.close();
    await target.process.stop();
  }
}

/** Latencies of the requests sent in [fromMs, toMs), and the server's longest stall in it. */
function window(entries: readonly H2loadEntry[], sweep: Sweep, fromMs: number, toMs: number, stallGraceMs: number): StormWindow {
  const inside = entries.filter((e) => e.status === 200 && e.startUs / 1000 >= fromMs && e.startUs / 1000 < toMs);
  const sorted = Float64Array.from(inside.map((e) => e.latencyUs / 1000)).sort();
  const stalls = sweep.stalls.filter(([at]) => at >= fromMs && at < toMs + stallGraceMs).map(([, ms]) => ms);
  return {
    seconds: (toMs - fromMs) / 1000,
    requests: sorted.length,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    maxMs: sorted.length > 0 ? (sorted[sorted.length - 1] as number) : Number.NaN,
    stallMs: stalls.reduce((x, y) => Math.max(x, y), 0),
  };
}
