import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { setTimeout as delay } from "node:timers/promises";
import { runCli as runInProcess } from "../../src/cli/cli";
import { ROOT, run, type RunResult } from "./run";

/** The built CLI, as package.json's `bin` names it (`npm run build` makes it). */
export const CLI_MAIN = join(ROOT, "dist", "src", "cli", "main.js");

let built: Promise<void> | undefined;

/**
 * Builds the package once per test run, as `npm install` does (its `prepare` script),
 * so the tests run the same dist/ file that `npx token-orchestrator` runs.
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

/** In a suite that runs the built CLI: a `before` hook that builds it first (`buildOnce`; minutes allowed on a cold machine). */
export function buildCliFirst(): void {
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

/** Whether the mark of a finished build exists, with the CLI, and nothing the build reads changed after it. */
function isFresh(mark: string): boolean {
  const builtAt = statSync(mark, { throwIfNoEntry: false })?.mtimeMs;
  if (builtAt === undefined || !existsSync(CLI_MAIN)) return false;
  return BUILD_INPUTS.every((input) => newestChange(join(ROOT, input)) < builtAt);
}

function newestChange(path: string): number {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (stat === undefined) return 0;
  if (!stat.isDirectory()) return stat.mtimeMs;
  return readdirSync(path).reduce((newest, name) => Math.max(newest, newestChange(join(path, name))), stat.mtimeMs);
}

/**
 * The environment the CLI runs in: this process's, without the CLI's own variables
 * (a developer's TOKEN_ORCHESTRATOR_ADDRESS must not steer a test), plus `extra`.
 */
export function cliEnv(extra: Readonly<Record<string, string>> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(env)) if (name.startsWith("TOKEN_ORCHESTRATOR_")) delete env[name];
  return { ...env, ...extra };
}

/** Runs `token-orchestrator ...args` (the built file, through node) to completion. */
export function runCli(args: readonly string[], extraEnv: Readonly<Record<string, string>> = {}): Promise<RunResult> {
  return run(process.execPath, [CLI_MAIN, ...args], { env: cliEnv(extraEnv), timeoutMs: 30_000 });
}

/**
 * Runs the same command line in this process, through the function the bin calls
 * (`runCli` of src/cli/cli.ts) with stdout and stderr captured: what the command prints
 * and the status it exits with, without a Node start per call (a spawn costs a fifth of
 * a second of CPU; the CLI's suites make about seventy calls). What only a process shows
 * (the bin, signals, Node's own warnings) is tested with `runCli` and `spawnCli`.
 */
export async function runCliInProcess(args: readonly string[], extraEnv: Readonly<Record<string, string>> = {}): Promise<RunResult> {
  let stdout = "";
  let stderr = "";
  const never = new AbortController().signal; // no signal reaches a call run in-process
  const code = await runInProcess(args, {
    env: cliEnv(extraEnv),
    writeOut: (text) => void (stdout += text),
    writeErr: (text) => void (stderr += text),
    interrupted: () => never,
  });
  return { code, stdout, stderr };
}

/** A CLI process left running (watch): its stdout line by line, and its end. */
export interface RunningCli {
  readonly child: ChildProcess;
  /** Resolves with the next `count` stdout lines (rejects after `timeoutMs`). */
  nextLines(count: number, timeoutMs?: number): Promise<string[]>;
  /** Resolves when the process has exited: its exit status (null when killed by a signal) and all of stderr. */
  readonly exited: Promise<{ readonly code: number | null; readonly signal: NodeJS.Signals | null; readonly stderr: string }>;
}

export function spawnCli(args: readonly string[], extraEnv: Readonly<Record<string, string>> = {}): RunningCli {
  const child = spawn(process.execPath, [CLI_MAIN, ...args], { env: cliEnv(extraEnv), stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) =>
    child.once("close", (code, signal) => resolve({ code, signal, stderr })),
  );
  const lines: string[] = [];
  let wake: (() => void) | undefined;
  createInterface({ input: child.stdout }).on("line", (line) => {
    lines.push(line);
    wake?.();
  });
  let taken = 0;
  return {
    child,
    exited,
    async nextLines(count, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (lines.length < taken + count) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`expected ${count} more line(s), got ${lines.length - taken}: ${JSON.stringify(lines.slice(taken))}; stderr: ${stderr}`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = undefined;
      }
      const out = lines.slice(taken, taken + count);
      taken += count;
      return out;
    },
  };
}
