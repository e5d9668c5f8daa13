/**
 * Side-by-side measurement. On a shared, noisy machine figures drift by up to
 * 1.7× within minutes, so a ratio only means something when both sides were
 * run next to each other: each row runs A and B alternately in ABBA order
 * (linear drift cancels), after one discarded warm-up run each, and keeps
 * every run; the best run of each side gives the ratio. A row may have more
 * baselines than B (REST: bare node:http and bare Express): then the rounds
 * run A B C, C B A, … and each baseline gets its own ratios, all from one run.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { cpuSeconds } from "./cpu";
import type { Settings } from "./settings";
import { grpcOf, httpOf, type Target } from "./targets";
import { h2load, type LoadResult, wrk } from "./tools";
import { BENCH_HOLD_SECONDS, checkGrpc, grpcFrame, type GrpcWorkload, type RestWorkload } from "./workloads";

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
  /**
   * B's CPU per call ÷ A's, median over the rounds (/proc): the ratio the two servers' own
   * costs give when each runs its core full. Unlike req/s, a load generator that cannot
   * keep a fast server busy does not flatter it.
   */
  readonly cpuRatio: number;
  /** Further baselines measured in the same rounds, each against A. */
  readonly also: readonly Versus[];
  /** Anything that makes a figure doubtful (failed answers, a pool that may have run dry). */
  readonly problems: readonly string[];
}

export interface Versus {
  readonly side: Side;
  readonly ratio: number;
  readonly roundRatios: readonly number[];
  readonly pairedRatio: number;
  readonly cpuRatio: number;
}

export interface Side {
  readonly target: string;
  /** The run with the most req/s. */
  readonly best: LoadResult;
  readonly runs: readonly LoadResult[];
}

type Run = (seconds: number) => Promise<LoadResult>;

/** A run with what the target's process spent of the CPU over it. */
function withServerCpu(target: Target, run: Run): Run {
  return async (seconds) => {
    const pid = target.process.child.pid as number;
    const before = cpuSeconds(pid);
    const started = performance.now();
    const result = await run(seconds);
    const spent = cpuSeconds(pid) - before;
    return { ...result, server: { cpuUsPerCall: (spent * 1e6) / result.requests, busy: spent / ((performance.now() - started) / 1000) } };
  };
}

/** Below this share of its core during its best run, a baseline was held back by the load generator. */
const GENERATOR_BOUND_BUSY = 0.85;

/**
 * Every target's runs, in A B … Z, Z … B A rounds after one warm-up run each. The smoke
 * form runs a round's sides at once: its figures mean nothing anyway (tiny, noisy runs),
 * and wrk cannot run for less than a second.
 */
async function sideBySide(targets: readonly Run[], settings: Settings): Promise<LoadResult[][]> {
  if (settings.warmupSeconds > 0) for (const run of targets) await run(settings.warmupSeconds);
  const runs = targets.map((): LoadResult[] => []);
  for (let round = 0; round < settings.rounds; round += 1) {
    const order = targets.map((_, i) => (round % 2 === 0 ? i : targets.length - 1 - i));
    const run = async (index: number): Promise<void> => void (runs[index] as LoadResult[]).push(await (targets[index] as Run)(settings.seconds));
    if (settings.smoke) await Promise.all(order.map(run));
    else for (const index of order) await run(index);
  }
  return runs;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

const best = (runs: readonly LoadResult[]): LoadResult => runs.reduce((x, y) => (y.rps > x.rps ? y : x));

function row(workload: string, transport: Row["transport"], measures: string, targets: readonly Target[], runs: readonly LoadResult[][], problems: string[], settings: Settings): Row {
  const sides: Side[] = targets.map((target, i) => ({ target: target.name, best: best(runs[i] as LoadResult[]), runs: runs[i] as LoadResult[] }));
  for (const side of sides) {
    const errors = side.runs.reduce((sum, run) => sum + run.errors, 0);
    if (errors > 0) problems.push(`${side.target}: ${errors} failed requests (non-2xx or transport errors)`);
  }
  const [a, b, ...more] = sides as [Side, Side, ...Side[]];
  const versus = (side: Side): Versus => {
    const roundRatios = a.runs.map((run, i) => run.rps / (side.runs[i] as LoadResult).rps);
    const cpuRatios = a.runs.map((run, i) => ((side.runs[i] as LoadResult).server?.cpuUsPerCall ?? Number.NaN) / (run.server?.cpuUsPerCall ?? Number.NaN));
    return { side, ratio: a.best.rps / side.best.rps, roundRatios, pairedRatio: median(roundRatios), cpuRatio: median(cpuRatios) };
  };
  const main = versus(b);
  const busy = b.best.server?.busy ?? 1;
  // The smoke form runs a round's sides at once, for a second: no side has a core to itself.
  if (!settings.smoke && busy < GENERATOR_BOUND_BUSY) {
    problems.push(`${b.target} used ${(busy * 100).toFixed(0)}% of its core in its best run: the load generator held it back, so req/s flatter ${a.target}; read the CPU ratio`);
  }
  return {
    workload,
    transport,
    measures,
    a,
    b,
    ratio: main.ratio,
    roundRatios: main.roundRatios,
    pairedRatio: main.pairedRatio,
    cpuRatio: main.cpuRatio,
    also: more.map(versus),
    problems,
  };
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
    withServerCpu(targets[index], async (seconds) => {
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
    });
  const runs = await sideBySide([runner(0), runner(1)], settings);
  if (workload.acquireShare > 0) {
    // Keys come back a hold after an Acquire: at most rate × share × hold are leased at once.
    const blockSeconds = Math.max(BENCH_HOLD_SECONDS, parseSeconds(settings.blockTtl));
    for (const [index, side] of runs.entries()) {
      const peak = best(side).rps * workload.acquireShare * blockSeconds;
      if (peak > 0.8 * poolSize) problems.push(`${targets[index]?.name}: up to ${peak.toFixed(0)} of ${poolSize} keys blocked at once: the pool may have run dry`);
    }
  }
  // Still answering correctly after the load (e.g. Acquire still finds a key).
  await check(0);
  await check(1);
  return row(workload.name, "gRPC", workload.measures, targets, runs, problems, settings);
}

/** One REST workload on the service and its baselines: probes with fetch, then wrk runs (which count non-2xx answers). */
export async function restRow(workload: RestWorkload, targets: readonly [Target, Target, ...Target[]], settings: Settings): Promise<Row> {
  for (const target of targets) await workload.probe(httpOf(target));
  const runner =
    (target: Target): Run =>
      withServerCpu(target, (seconds) => wrk({ baseUrl: httpOf(target), lua: workload.lua, ...settings.wrk, seconds, cpu: settings.loadCpu, dir: settings.dir }));
  const runs = await sideBySide(targets.map(runner), settings);
  for (const target of targets) await workload.probe(httpOf(target));
  return row(workload.name, "REST", workload.measures, targets, runs, [], settings);
}

function parseSeconds(duration: string): number {
  const match = /^([\d.]+)(ms|s)$/.exec(duration);
  if (match === null) throw new Error(`unexpected duration ${duration}`);
  return Number(match[1]) / (match[2] === "ms" ? 1000 : 1);
}
