/**
 * The Express study the issue asks for when REST falls short of 0.9 of bare
 * Express: is Express itself the limit, and do Express 4 vs 5 or the way the
 * shim is mounted change it? Every variant of rest-variants.ts runs in its own
 * process (server CPU); wrk loads them in rounds, the order rotating each
 * round, and every figure is also given relative to bare Express 5 run in the
 * same round.
 *
 *   node --import tsx bench/load/express-study.ts [--express4 DIR] [--seconds 5] [--rounds 4] [--json FILE]
 *
 * DIR is a folder where `npm install express@4` was run (outside the repo:
 * Express 4 is no dependency of the project); without it the Express 4 rows are skipped.
 * Needs a build (npm run build) first.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compiledServer, removeCompiled } from "./compile";
import { JsonProcess, launch, stopAll } from "./procs";
import { settingsFor } from "./settings";
import { started, type Target } from "./targets";
import { type LoadResult, requireTools, wrk } from "./tools";
import { restWorkloads } from "./workloads";

const argv = process.argv.slice(2);
const flag = (name: string): string | undefined => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
const express4Dir = flag("--express4");
const VARIANTS = ["bare-node", "bare-express5", "bare-express4", "shim-express5", "shim-express4", "shim-first", "shim-node"].filter(
  (variant) => express4Dir !== undefined || !variant.endsWith("express4"),
);
const REFERENCE = "bare-express5";

async function main(): Promise<void> {
  requireTools(["wrk"]);
  const dir = mkdtempSync(join(tmpdir(), "tokens-express-study-"));
  const settings = settingsFor(false, dir, { seconds: Number(flag("--seconds") ?? 5), rounds: Number(flag("--rounds") ?? 4) });
  const targets: (Target & { keyId: string })[] = [];
  try {
    for (const variant of VARIANTS) {
      const child = launch(process.execPath, [compiledServer("bench/load/rest-variants.ts"), variant, ...(express4Dir === undefined ? [] : [express4Dir])], {
        cpu: settings.serverCpu,
      });
      const process_ = new JsonProcess(variant, child);
      const target = await started(variant, process_);
      targets.push({ ...target, keyId: await process_.waitFor((m) => (typeof m["keyId"] === "string" ? m["keyId"] : undefined), 60_000, "key id") });
    }
    const names = restWorkloads("x").map((w) => w.name);
    const results: Record<string, Record<string, LoadResult[]>> = {};
    for (const [index, name] of names.entries()) {
      results[name] = {};
      for (const target of targets) {
        const workload = restWorkloads(target.keyId)[index]!;
        await workload.probe(`http://${target.http}`);
        await run(target, workload.lua, settings.warmupSeconds, dir); // warm-up, discarded
        results[name][target.name] = [];
      }
      for (let round = 0; round < settings.rounds; round += 1) {
        // Rotate the order each round so no variant always runs first or after the same neighbour.
        const order = targets.map((_, i) => targets[(i + round) % targets.length]!);
        for (const target of order) {
          const workload = restWorkloads(target.keyId)[index]!;
          results[name][target.name]!.push(await run(target, workload.lua, settings.seconds, dir));
        }
        process.stderr.write(`… ${name} round ${round + 1}/${settings.rounds}\n`);
      }
    }
    print(names, results, settings.rounds, settings.seconds);
    const json = flag("--json");
    if (json !== undefined) writeFileSync(json, JSON.stringify({ study: "express", date: new Date().toISOString(), node: process.version, results }, null, 2) + "\n");
  } finally {
    await stopAll();
    removeCompiled();
    rmSync(dir, { recursive: true, force: true });
  }
}

function run(target: Target, lua: string, seconds: number, dir: string): Promise<LoadResult> {
  return wrk({ baseUrl: `http://${target.http}`, lua, connections: 64, seconds, cpu: 1, dir });
}

function print(names: readonly string[], results: Record<string, Record<string, LoadResult[]>>, rounds: number, seconds: number): void {
  console.log(`Express study: wrk -c 64 -t 1, ${rounds} rounds of ${seconds} s, order rotating; best req/s, and ×${REFERENCE}: best ÷ best / median of same-round ratios`);
  console.log(`${"variant".padEnd(15)}${names.map((n) => n.padStart(26)).join("")}`);
  for (const variant of VARIANTS) {
    const cells = names.map((name) => {
      const mine = results[name]?.[variant] ?? [];
      const reference = results[name]?.[REFERENCE] ?? [];
      const best = (runs: readonly LoadResult[]): number => Math.max(...runs.map((r) => r.rps));
      const paired = mine.map((r, i) => r.rps / (reference[i]?.rps ?? Number.NaN)).sort((x, y) => x - y);
      const median = paired.length % 2 === 1 ? paired[paired.length >> 1]! : (paired[paired.length / 2 - 1]! + paired[paired.length / 2]!) / 2;
      return `${best(mine).toFixed(0).padStart(8)} ×${(best(mine) / best(reference)).toFixed(2)} / ${median.toFixed(2)}`.padStart(26);
    });
    console.log(`${variant.padEnd(15)}${cells.join("")}`);
  }
}

for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => void stopAll().finally(() => process.exit(130)));
main().then(
  () => process.exit(0),
  async (error: unknown) => {
    await stopAll();
    process.stderr.write(`express-study: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
