import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { runCli as runInProcess } from "../../src/cli/cli";
import { CLI_MAIN } from "./build";
import { run, type RunResult } from "./run";

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
