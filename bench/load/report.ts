/** The printed tables. Every figure printed is also in the JSON. */
import type { Row } from "./compare";
import type { RedisSection } from "./redis";
import type { Settings } from "./settings";
import type { StormResult } from "./storm";

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
    `gRPC: h2load -c ${settings.h2load.clients} -m ${settings.h2load.streams} -t 1; REST: wrk -c ${settings.wrk.connections} -t 1; latencies in ms`,
    `${l("workload", 16)}${l("transport", 10)}${"service req/s".padStart(14)}${"p50".padStart(8)}${"p99".padStart(8)}${"baseline req/s".padStart(16)}${"p50".padStart(8)}${"p99".padStart(8)}${"ratio".padStart(7)}${"paired".padStart(8)}  ${l("baseline", 16)}${"Express req/s".padStart(14)}${"ratio".padStart(7)}${"paired".padStart(8)}`,
  ];
  for (const row of rows) {
    const a = row.a.best;
    const b = row.b.best;
    const express = row.also[0];
    const extra = express === undefined ? "" : `${r(express.side.best.rps, 14)}${r(express.ratio, 7, 2)}${r(express.pairedRatio, 8, 2)}`;
    lines.push(
      `${l(row.workload, 16)}${l(row.transport, 10)}${r(a.rps, 14)}${r(a.p50Ms, 8, 2)}${r(a.p99Ms, 8, 2)}${r(b.rps, 16)}${r(b.p50Ms, 8, 2)}${r(b.p99Ms, 8, 2)}${r(row.ratio, 7, 2)}${r(row.pairedRatio, 8, 2)}  ${l(row.b.target, 16)}${extra}`.trimEnd(),
    );
  }
  const misses: string[] = [];
  for (const transport of ["gRPC", "REST"] as const) {
    const mine = rows.filter((row) => row.transport === transport);
    if (mine.length === 0) continue;
    const { min, base } = LOAD_TARGETS[transport];
    lines.push(targetLine(`${transport} ≥ ${min.toFixed(2)} of ${base}`, mine, (row) => [row.ratio, row.pairedRatio]));
    misses.push(...mine.filter((row) => row.ratio < min).map((row) => `  ! missed: ${transport} ${row.workload} ${row.ratio.toFixed(2)} of ${base} (< ${min.toFixed(2)})`));
    const withExpress = mine.filter((row) => row.also[0] !== undefined);
    if (withExpress.length > 0) {
      lines.push(targetLine(`${transport} ≥ ${EXPRESS_TARGET.toFixed(2)} of bare Express`, withExpress, (row) => [row.also[0]?.ratio ?? Number.NaN, row.also[0]?.pairedRatio ?? Number.NaN]));
    }
  }
  lines.push(...misses, ...notes(rows));
  return lines;
}

function targetLine(target: string, rows: readonly Row[], ratios: (row: Row) => readonly [number, number]): string {
  const worst = (i: 0 | 1): string => Math.min(...rows.map((row) => ratios(row)[i])).toFixed(2);
  return `target ${target}: worst ratio ${worst(0)}, worst paired ${worst(1)} (every run in the JSON)`;
}

export function redisTable(section: RedisSection): string[] {
  const lines = [
    `redis store vs memory store (same service, gRPC, side by side), redis-server with no persistence`,
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

export function stormTable(storm: StormResult): string[] {
  const lines = [
    `expiry storm: ${storm.keys} keys whose deadlines fall on the same instant (filled in-process with the app clock held), ` +
      `steady gRPC Get at ${storm.steadyRps} req/s on a live key; windows: before = the ${storm.runs[0]?.before.seconds ?? "?"} s before the first deadline, during = first deadline → pool swept`,
    `${l("", 30)}before (ms)                  during (ms)`,
    `${l("storm", 7)}${"fill s".padStart(7)}${"sweep s".padStart(8)}${"req".padStart(7)}${"p50".padStart(8)}${"p99".padStart(8)}${"stall".padStart(7)}  |${"req".padStart(6)}${"p50".padStart(8)}${"p99".padStart(8)}${"stall".padStart(7)}  |${"p99 ratio".padStart(10)}`,
  ];
  storm.runs.forEach((run, i) => {
    const b = run.before;
    const d = run.during;
    lines.push(
      `${l(String(i + 1), 7)}${r(run.fillMs / 1000, 7, 1)}${r(run.sweepMs / 1000, 8, 2)}${r(b.requests, 7)}${r(b.p50Ms, 8, 2)}${r(b.p99Ms, 8, 2)}${r(b.stallMs, 7, 1)}  |${r(d.requests, 6)}${r(d.p50Ms, 8, 2)}${r(d.p99Ms, 8, 2)}${r(d.stallMs, 7, 1)}  |${r(run.p99Ratio, 10, 2)}`,
    );
  });
  lines.push(`target p99 during ≤ 2 × before: median ratio ${storm.p99Ratio.toFixed(2)} over ${storm.runs.length} storm(s) (stall: longest event-loop lateness the server saw, 5 ms timer)`);
  return lines;
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
