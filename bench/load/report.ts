/** The printed tables. Every figure printed is also in the JSON. */
import type { Row } from "./compare";
import type { RedisSection } from "./redis";
import type { Settings } from "./settings";
import { POLL_MS, STORM_TARGETS, type StormResult, type StormRun } from "./storm";

const r = (value: number, width: number, digits = 0): string => (Number.isFinite(value) ? value.toFixed(digits) : "-").padStart(width);
const l = (text: string, width: number): string => text.padEnd(width);

/** The ratio targets, by transport: service ÷ the row's baseline (B). */
const LOAD_TARGETS = { gRPC: { min: 0.9, base: "bare grpc-js" }, REST: { min: 0.6, base: "bare node:http" } } as const;
/** Not a target of its own: REST ≥ 0.6 of bare node:http puts it far above this. */
const EXPRESS_TARGET = 0.9;

export function memoryTable(rows: readonly Row[], settings: Settings): string[] {
  const lines = [
    `load: service vs bare baseline, ${settings.rounds} side-by-side round(s) of ${settings.seconds} s each (ABBA), pool ${settings.pool} keys`,
    `req/s and latencies: each side's best run; ratio = best ÷ best; paired = median of the rounds' back-to-back ratios; REST also ÷ bare Express, run in the same rounds`,
    `CPU µs/call: each server process's CPU per call in its best run (/proc); CPU ratio = baseline's CPU per call ÷ the service's, median over the rounds: the ratio when both run their core full`,
    `gRPC: h2load -c ${settings.h2load.clients} -m ${settings.h2load.streams} -t 1; REST: wrk -c ${settings.wrk.connections} -t 1; latencies in ms`,
    `${l("workload", 16)}${l("transport", 10)}${"service req/s".padStart(14)}${"p50".padStart(8)}${"p99".padStart(8)}${"baseline req/s".padStart(16)}${"p50".padStart(8)}${"p99".padStart(8)}${"ratio".padStart(7)}${"paired".padStart(8)}${"CPU µs/call".padStart(14)}${"CPU ratio".padStart(10)}  ${l("baseline", 16)}${"Express req/s".padStart(14)}${"ratio".padStart(7)}${"paired".padStart(8)}`,
  ];
  for (const row of rows) {
    const a = row.a.best;
    const b = row.b.best;
    const express = row.also[0];
    const extra = express === undefined ? "" : `${r(express.side.best.rps, 14)}${r(express.ratio, 7, 2)}${r(express.pairedRatio, 8, 2)}`;
    lines.push(
      `${l(row.workload, 16)}${l(row.transport, 10)}${r(a.rps, 14)}${r(a.p50Ms, 8, 2)}${r(a.p99Ms, 8, 2)}${r(b.rps, 16)}${r(b.p50Ms, 8, 2)}${r(b.p99Ms, 8, 2)}${r(row.ratio, 7, 2)}${r(row.pairedRatio, 8, 2)}${cpuPair(row).padStart(14)}${r(row.cpuRatio, 10, 2)}  ${l(row.b.target, 16)}${extra}`.trimEnd(),
    );
  }
  const misses: string[] = [];
  for (const transport of ["gRPC", "REST"] as const) {
    const mine = rows.filter((row) => row.transport === transport);
    if (mine.length === 0) continue;
    const { min, base } = LOAD_TARGETS[transport];
    lines.push(`${targetLine(`${transport} ≥ ${min.toFixed(2)} of ${base}`, mine, (row) => [row.ratio, row.pairedRatio])}; worst CPU ratio ${Math.min(...mine.map((row) => row.cpuRatio)).toFixed(2)}`);
    misses.push(...mine.filter((row) => row.ratio < min).map((row) => `  ! missed: ${transport} ${row.workload} ${row.ratio.toFixed(2)} of ${base} (< ${min.toFixed(2)})`));
    const withExpress = mine.filter((row) => row.also[0] !== undefined);
    if (withExpress.length > 0) {
      lines.push(targetLine(`${transport} ≥ ${EXPRESS_TARGET.toFixed(2)} of bare Express`, withExpress, (row) => [row.also[0]?.ratio ?? Number.NaN, row.also[0]?.pairedRatio ?? Number.NaN]));
    }
  }
  lines.push(...misses, ...notes(rows));
  return lines;
}

/** "service/baseline" CPU µs per call, each side's best run. */
function cpuPair(row: Row): string {
  const perCall = (side: Row["a"]): string => (side.best.server === undefined ? "-" : side.best.server.cpuUsPerCall.toFixed(1));
  return `${perCall(row.a)}/${perCall(row.b)}`;
}

function targetLine(target: string, rows: readonly Row[], ratios: (row: Row) => readonly [number, number]): string {
  const worst = (i: 0 | 1): string => Math.min(...rows.map((row) => ratios(row)[i])).toFixed(2);
  return `target ${target}: worst ratio ${worst(0)}, worst paired ${worst(1)} (every run in the JSON)`;
}

/** With --auth: the service with tokens ÷ the same service open, side by side (a figure, no target of its own). */
export function authCostTable(rows: readonly Row[], settings: Settings): string[] {
  const lines = [
    `auth cost: the service checking bearer tokens vs the same service open, ${settings.rounds} side-by-side round(s) of ${settings.seconds} s each (ABBA)`,
    `${l("workload", 16)}${l("transport", 10)}${"tokens req/s".padStart(13)}${"p99".padStart(8)}${"open req/s".padStart(12)}${"p99".padStart(8)}${"ratio".padStart(7)}${"paired".padStart(8)}`,
  ];
  for (const row of rows) {
    lines.push(`${l(row.workload, 16)}${l(row.transport, 10)}${r(row.a.best.rps, 13)}${r(row.a.best.p99Ms, 8, 2)}${r(row.b.best.rps, 12)}${r(row.b.best.p99Ms, 8, 2)}${r(row.ratio, 7, 2)}${r(row.pairedRatio, 8, 2)}`);
  }
  lines.push(...rows.flatMap((row) => row.problems.map((problem) => `  ! ${row.transport} ${row.workload}: ${problem}`)));
  return lines;
}

export function redisTable(section: RedisSection): string[] {
  const lines = [
    `redis store vs memory store (same service, gRPC, side by side), redis-server with no persistence, pinned to the load generators' CPU`,
    `EVALSHA/op: script calls Redis ran per service call, i.e. round trips, as the store sends nothing but scripts; cmds/op: every command Redis counted, those run inside the scripts included`,
    `${l("workload", 16)}${"memory req/s".padStart(13)}${"p99".padStart(8)}${"redis req/s".padStart(13)}${"p50".padStart(8)}${"p99".padStart(8)}${"redis/mem".padStart(10)}${"paired".padStart(8)}${"EVALSHA/op".padStart(11)}${"cmds/op".padStart(9)}`,
  ];
  for (const { row, roundTrips } of section.rows) {
    const redis = row.a.best;
    const memory = row.b.best;
    lines.push(
      `${l(row.workload, 16)}${r(memory.rps, 13)}${r(memory.p99Ms, 8, 2)}${r(redis.rps, 13)}${r(redis.p50Ms, 8, 2)}${r(redis.p99Ms, 8, 2)}${r(row.ratio, 10, 2)}${r(row.pairedRatio, 8, 2)}${r(roundTrips.evalshaPerOp, 11, 2)}${r(roundTrips.commandsPerOp, 9, 2)}`,
    );
  }
  lines.push(
    `CPU per call (µs, /proc, one counted run each): the service on memory, the service on Redis, redis-server; on two cores Redis shares the load generator's`,
    `${l("workload", 16)}${"memory svc".padStart(11)}${"redis svc".padStart(11)}${"redis-server".padStart(13)}${"svc mem/redis".padStart(15)}`,
  );
  for (const { row, cpu } of section.rows) {
    lines.push(
      `${l(row.workload, 16)}${r(cpu.memoryServiceUs, 11, 1)}${r(cpu.redisServiceUs, 11, 1)}${r(cpu.redisServerUs, 13, 1)}${r(cpu.memoryServiceUs / cpu.redisServiceUs, 15, 2)}`,
    );
  }
  const c = section.ceiling;
  lines.push(
    `redis-benchmark EVALSHA ("return 1", -c ${c.clients} -n ${c.requests}): ${c.rps.toFixed(0)} req/s, p50 ${c.p50Ms.toFixed(2)} ms, p99 ${c.p99Ms.toFixed(2)} ms: Redis's own ceiling for one script call`,
  );
  const rows = section.rows.map((entry) => entry.row);
  if (rows.length > 0) lines.push(targetLine(`Redis store ≥ ${REDIS_TARGET.toFixed(2)} of the memory store`, rows, (row) => [row.ratio, row.pairedRatio]));
  lines.push(...rows.filter((row) => row.ratio < REDIS_TARGET).map((row) => `  ! missed: Redis ${row.workload} ${row.ratio.toFixed(2)} of the memory store (< ${REDIS_TARGET.toFixed(2)})`));
  lines.push(...notes(rows));
  return lines;
}

const REDIS_TARGET = 0.8;

/**
 * One line per (store, kind). p99s and the clear time are the median run's (the run whose
 * ratio is the median); stall, PING and the slowest command are the worst over the runs.
 */
export function stormTable(results: readonly StormResult[], settings: Settings): string[] {
  const storm = settings.storm;
  const lines = [
    `storms: N keys whose deadlines fall on one millisecond (the instant) under a steady gRPC load (h2load --rps, ${storm.clients} clients); ` +
      `before = the ${storm.beforeSeconds.memory} s (memory) or ${storm.beforeSeconds.redis} s (Redis) before the instant, across = the instant → no passed deadline left (backlog gone)` +
      (results.some((result) => result.store === "redis") ? `; redis-server ${results.some((result) => result.redisRealtime === true) ? "at real-time priority (chrt -f 10), floating" : "at normal priority (no chrt allowed), floating"}` : ""),
    `p99s, ratio and clear time from the median run of ${storm.repeats} (every run's ratio in brackets); stall (server event loop, across), PING (own connection, ` +
      `every ${POLL_MS} ms: p99 across, max over the whole load) and slowest command (SLOWLOG, > ${STORM_TARGETS.slowlogThresholdUs / 1000} ms): worst run; latencies in ms; ` +
      `sent: calls sent across the storm ÷ the schedule's (below 100%, h2load's streams were all waiting and late calls' latency goes unmeasured)`,
    `${l("store", 7)}${l("kind", 9)}${"keys".padStart(8)}${"req/s".padStart(6)}  |${"before p50".padStart(11)}${"p99".padStart(7)}  |${"across p50".padStart(11)}${"p99".padStart(7)}${"max".padStart(7)}${"sent".padStart(6)}  |${"p99 ratio".padStart(10)}  ${l("(runs)", 21)}|${"clear s".padStart(8)}${"stall".padStart(7)}  |${"PING p99".padStart(9)}${"max".padStart(7)}  | slowest command`,
  ];
  for (const result of results) {
    const run = medianRun(result);
    if (run === undefined) continue;
    const worst = (pick: (run: StormRun) => number): number => Math.max(...result.runs.map(pick).filter(Number.isFinite), Number.NEGATIVE_INFINITY);
    const slowest = slowestOf(result);
    const redis = result.store === "redis";
    lines.push(
      `${l(result.store, 7)}${l(result.kind, 9)}${r(result.keys, 8)}${r(result.steadyRps, 6)}  |${r(run.before.p50Ms, 11, 2)}${r(run.before.p99Ms, 7, 1)}  |${r(run.across.p50Ms, 11, 2)}${r(run.across.p99Ms, 7, 1)}${r(run.across.maxMs, 7, 1)}${`${r(100 * run.across.sentShare, 4)}%`.padStart(6)}  |` +
        `${r(result.p99Ratio, 10, 2)}${mark(result.p99Ratio > STORM_TARGETS.p99Ratio)} ${l(`(${result.runs.map((each) => each.p99Ratio.toFixed(2)).join(" ")})`, 21)}|${r(run.clearMs / 1000, 8, 2)}${r(worst((each) => each.across.stallMs), 7, 1)}  |` +
        (redis
          ? `${r(worst((each) => each.across.ping?.p99Ms ?? Number.NaN), 9, 1)}${r(pingMax(result), 7, 1)}${mark(pingMax(result) > STORM_TARGETS.redisCommandMs)} | ${slowest === undefined ? `none > ${STORM_TARGETS.slowlogThresholdUs / 1000} ms` : `${slowest.ms.toFixed(1)} ${slowest.command}`}`
          : `${r(Number.NaN, 9)}${r(Number.NaN, 7)}  | -`),
    );
  }
  const seen = new Set<string>();
  for (const result of results) if (!seen.has(result.kind) && seen.add(result.kind)) lines.push(`  · ${result.kind}: ${result.load}`);
  const ratios = results.map((result) => `${result.store} ${result.kind} ${result.p99Ratio.toFixed(2)}`).join(", ");
  lines.push(`target p99 during ≤ ${STORM_TARGETS.p99Ratio} × before (p99 across the storm ÷ before, median run): ${ratios}`);
  const onRedis = results.filter((result) => result.store === "redis");
  if (onRedis.length > 0) {
    const slowest = onRedis.map((result) => slowestOf(result)?.ms ?? 0);
    lines.push(
      `target Redis: no command over ${STORM_TARGETS.redisCommandMs} ms (SLOWLOG) and PING max ≤ ${STORM_TARGETS.redisCommandMs} ms: ` +
        onRedis.map((result, i) => `${result.kind} slowest ${(slowest[i] ?? 0) > 0 ? (slowest[i] ?? 0).toFixed(1) : `< ${STORM_TARGETS.slowlogThresholdUs / 1000}`}, PING max ${pingMax(result).toFixed(1)}`).join("; "),
    );
  }
  for (const result of results) {
    const name = `${result.store} ${result.kind}`;
    if (result.p99Ratio > STORM_TARGETS.p99Ratio) lines.push(`  ! missed: ${name}: p99 across ${result.p99Ratio.toFixed(2)} × before (> ${STORM_TARGETS.p99Ratio})`);
    const slow = slowestOf(result);
    if (slow !== undefined && slow.ms > STORM_TARGETS.redisCommandMs) lines.push(`  ! missed: ${name}: Redis ran ${slow.command} for ${slow.ms.toFixed(1)} ms (> ${STORM_TARGETS.redisCommandMs})`);
    if (pingMax(result) > STORM_TARGETS.redisCommandMs) lines.push(`  ! missed: ${name}: a PING waited ${pingMax(result).toFixed(1)} ms (> ${STORM_TARGETS.redisCommandMs})`);
    const behind = medianRun(result)?.across.sentShare ?? 1;
    if (behind < 0.9) lines.push(`  ! behind: ${name}: ${(100 * behind).toFixed(0)}% of the scheduled calls sent across the storm: the service fell behind, its p99 is understated`);
    for (const problem of result.problems) lines.push(`  ! storm ${name} ${problem}`);
  }
  return lines;
}

const mark = (missed: boolean): string => (missed ? "!" : " ");

function medianRun(result: StormResult): StormRun | undefined {
  const sorted = [...result.runs].sort((x, y) => x.p99Ratio - y.p99Ratio);
  return sorted[(sorted.length - 1) >> 1];
}

function slowestOf(result: StormResult): { ms: number; command: string } | undefined {
  return result.runs.flatMap((run) => run.slowlog?.slice(0, 1) ?? []).sort((x, y) => y.ms - x.ms)[0];
}

/** Longest PING round trip over the runs, while the load ran (-∞ when none was sent). */
function pingMax(result: StormResult): number {
  return Math.max(...result.runs.map((run) => run.ping?.maxMs ?? Number.NaN).filter(Number.isFinite), Number.NEGATIVE_INFINITY);
}

function notes(rows: readonly Row[]): string[] {
  const lines: string[] = [];
  const seen = new Set<string>();
  for (const row of rows) {
    if (!seen.has(row.measures)) lines.push(`  · ${row.measures}`);
    seen.add(row.measures);
    for (const problem of row.problems) lines.push(`  ! ${row.transport} ${row.workload}: ${problem}`);
  }
  return lines;
}
