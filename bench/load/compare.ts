/**
 * Side-by-side measurement. On a shared, noisy machine figures drift by up to
 * 1.7× within minutes, so a ratio only means something when both sides were
 * run next to each other: each row runs A and B alternately in ABBA order
 * (linear drift cancels), after one discarded warm-up run each, and keeps
 * every run; the best run of each side gives the ratio.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Settings } from "./settings";
import { grpcOf, httpOf, type Target } from "./targets";
import { h2load, type LoadResult, wrk } from "./tools";
import { checkGrpc, grpcFrame, type GrpcWorkload, type RestWorkload } from "./workloads";

export interface Row {
  readonly workload: string;
  readonly transport: "gRPC" | "REST";
  readonly measures: string;
  readonly a: Side;
  readonly b: Side;
  /** best A req/s ÷ best B req/s */
  readonly ratio: number;
  /** Ratios of each round's A and B, run back to back. */
  readonly roundRatios: readonly number[];
  /** Median of roundRatios: the drift-resistant figure; `ratio` (best vs best) is the interference-resistant one. */
  readonly pairedRatio: number;
  /** Anything that makes a figure doubtful (failed answers, a pool that may have run dry). */
  readonly problems: readonly string[];
}

export interface Side {
  readonly target: string;
  /** The run with the most req/s. */
  readonly best: LoadResult;
  readonly runs: readonly LoadResult[];
}

type Run = (seconds: number) => Promise<LoadResult>;

async function sideBySide(a: Run, b: Run, settings: Settings): Promise<{ a: LoadResult[]; b: LoadResult[] }> {
  if (settings.warmupSeconds > 0) {
    await a(settings.warmupSeconds);
    await b(settings.warmupSeconds);
  }
  const runs = { a: [] as LoadResult[], b: [] as LoadResult[] };
  for (let round = 0; round < settings.rounds; round += 1) {
    if (round % 2 === 0) {
      runs.a.push(await a(settings.seconds));
      runs.b.push(await b(settings.seconds));
    } else {
      runs.b.push(await b(settings.seconds));
      runs.a.push(await a(settings.seconds));
    }
  }
  return runs;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

const best = (runs: readonly LoadResult[]): LoadResult => runs.reduce((x, y) => (y.rps > x.rps ? y : x));

function row(
  workload: string,
  transport: Row["transport"],
  measures: string,
  targets: readonly [Target, Target],
  runs: { a: LoadResult[]; b: LoadResult[] },
  problems: string[],
): Row {
  const a: Side = { target: targets[0].name, best: best(runs.a), runs: runs.a };
  const b: Side = { target: targets[1].name, best: best(runs.b), runs: runs.b };
  for (const side of [a, b]) {
    const errors = side.runs.reduce((sum, run) => sum + run.errors, 0);
    if (errors > 0) problems.push(`${side.target}: ${errors} failed requests (non-2xx or transport errors)`);
  }
  const roundRatios = runs.a.map((run, i) => run.rps / (runs.b[i] as LoadResult).rps);
  return { workload, transport, measures, a, b, ratio: a.best.rps / b.best.rps, roundRatios, pairedRatio: median(roundRatios), problems };
}

/**
 * One gRPC workload on two targets: probes with the exact body, h2load runs, then checks the answers' bytes.
 * One workload per target: the same calls, each naming a key of that target's own pool.
 */
export async function grpcRow(workloads: readonly [GrpcWorkload, GrpcWorkload], targets: readonly [Target, Target], settings: Settings, poolSize: number): Promise<Row> {
  const [workload] = workloads;
  const frames = workloads.map((w) => grpcFrame(w.message));
  const bodyFiles = targets.map((_, index) => join(settings.dir, `${workload.name.replace(/\W+/g, "-")}-${index}.bin`));
  bodyFiles.forEach((file, index) => writeFileSync(file, frames[index] as Buffer));
  const check = (index: number): Promise<number> => checkGrpc(grpcOf(targets[index] as Target), workloads[index] as GrpcWorkload, frames[index] as Buffer);
  const expected = [await check(0), await check(1)];
  const problems: string[] = [];
  const runner =
    (index: 0 | 1): Run =>
    async (seconds) => {
      const target = targets[index];
      const { result } = await h2load({
        urls: workloads[index].methods.map((method) => `http://${grpcOf(target)}${method}`),
        bodyFile: bodyFiles[index] as string,
        ...settings.h2load,
        seconds,
        cpu: settings.loadCpu,
        dir: settings.dir,
      });
      // A failed call is HTTP 200 with trailers only: no DATA bytes. Small drifts are timestamps' varints.
      const floor = 0.95 * (expected[index] as number);
      if ((result.bytesPerResponse ?? 0) < floor) {
        problems.push(`${target.name}: ${result.bytesPerResponse?.toFixed(1)} answer bytes per call, ${floor.toFixed(1)} expected: some calls failed`);
      }
      return result;
    };
  const runs = await sideBySide(runner(0), runner(1), settings);
  if (workload.acquireShare > 0) {
    // Keys come back BLOCK_TTL after an Acquire: at most rate × share × BLOCK_TTL are blocked at once.
    const blockSeconds = parseSeconds(settings.blockTtl);
    for (const [index, side] of [runs.a, runs.b].entries()) {
      const peak = best(side).rps * workload.acquireShare * blockSeconds;
      if (peak > 0.8 * poolSize) problems.push(`${targets[index]?.name}: up to ${peak.toFixed(0)} of ${poolSize} keys blocked at once: the pool may have run dry`);
    }
  }
  // Still answering correctly after the load (e.g. Acquire still finds a key).
  await check(0);
  await check(1);
  return row(workload.name, "gRPC", workload.measures, targets, runs, problems);
}

/** One REST workload on two targets: probes with fetch, then wrk runs (which count non-2xx answers). */
export async function restRow(workload: RestWorkload, targets: readonly [Target, Target], settings: Settings): Promise<Row> {
  for (const target of targets) await workload.probe(httpOf(target));
  const runner =
    (index: 0 | 1): Run =>
    (seconds) =>
      wrk({ baseUrl: httpOf(targets[index]), lua: workload.lua, ...settings.wrk, seconds, cpu: settings.loadCpu, dir: settings.dir });
  const runs = await sideBySide(runner(0), runner(1), settings);
  for (const target of targets) await workload.probe(httpOf(target));
  return row(workload.name, "REST", workload.measures, targets, runs, []);
}

function parseSeconds(duration: string): number {
  const match = /^([\d.]+)(ms|s)$/.exec(duration);
  if (match === null) throw new Error(`unexpected duration ${duration}`);
  return Number(match[1]) / (match[2] === "ms" ? 1000 : 1);
}
