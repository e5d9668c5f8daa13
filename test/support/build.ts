import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { ROOT, run } from "./run";

/** The built service, as `npm start` runs it. */
export const SERVICE_MAIN = join(ROOT, "dist", "src", "main.js");
/** The built CLI, as package.json's `bin` names it. */
export const CLI_MAIN = join(ROOT, "dist", "src", "cli", "main.js");

let built: Promise<void> | undefined;

/**
 * Builds the package once per test run, as `npm install` does (its `prepare` script),
 * so the tests run the same dist/ files that `npm start` and `npx token-orchestrator` run.
 *
 * Once for all processes: mocha --parallel runs test files in several workers, and a
 * second worker's build rewrote dist/ while the first ran the CLI from it (a half-written
 * module: "Cannot read properties of undefined"). The first worker to take the lock
 * builds; the others wait. Every finished build leaves a mark (scripts/finish-build.cjs),
 * so the build `npm install` made counts while no source is newer than it.
 */
export function buildOnce(): Promise<void> {
  built ??= buildUnlessFresh();
  return built;
}

/** In a suite that runs a built file: a `before` hook that builds first (`buildOnce`; minutes allowed on a cold machine). */
export function buildFirst(): void {
  before(async function () {
    this.timeout(180_000);
    await buildOnce();
  });
}

const BUILD_INPUTS = ["src", "clients", "proto", "package.json", "tsconfig.json", "tsconfig.build.json", "scripts/finish-build.cjs"];

async function buildUnlessFresh(): Promise<void> {
  const dir = join(ROOT, ".tmp");
  mkdirSync(dir, { recursive: true });
  const lock = join(dir, "build.lock");
  const mark = join(dir, "build.done");
  for (;;) {
    if (isFresh(mark)) return;
    try {
      mkdirSync(lock); // atomic: exactly one process gets it
    } catch {
      // Another process is building; a lock older than any build is a crashed one's.
      const lockedAt = statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now();
      if (Date.now() - lockedAt > 300_000) rmSync(lock, { recursive: true, force: true });
      await delay(100);
      continue;
    }
    try {
      if (isFresh(mark)) return; // built by another process between the two checks
      const result = await run("npm", ["run", "--silent", "build"], { env: process.env, timeoutMs: 180_000 });
      if (result.code !== 0) throw new Error(`npm run build failed (${result.code}): ${result.stdout}${result.stderr}`);
      return;
    } finally {
      rmSync(lock, { recursive: true, force: true });
    }
  }
}

/** Whether the mark of a finished build exists, with both entry points, and nothing the build reads changed after it. */
function isFresh(mark: string): boolean {
  const builtAt = statSync(mark, { throwIfNoEntry: false })?.mtimeMs;
  if (builtAt === undefined || !existsSync(CLI_MAIN) || !existsSync(SERVICE_MAIN)) return false;
  return BUILD_INPUTS.every((input) => newestChange(join(ROOT, input)) < builtAt);
}

function newestChange(path: string): number {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (stat === undefined) return 0;
  if (!stat.isDirectory()) return stat.mtimeMs;
  return readdirSync(path).reduce((newest, name) => Math.max(newest, newestChange(join(path, name))), stat.mtimeMs);
}
