import { execFile } from "node:child_process";
import { join, resolve } from "node:path";
import { bufBinary } from "../../scripts/buf-binary";

export const ROOT = resolve(__dirname, "..", "..");
export const BIN = (name: string): string => join(ROOT, "node_modules", ".bin", name);
/** buf itself, not its npm script (scripts/buf-binary.ts). */
export const BUF = bufBinary();

export interface RunResult {
  /** The exit status; -1 when the process was killed (by a signal or the timeout). */
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to completion (never throws for a non-zero exit: tests assert the code). */
export function run(command: string, args: readonly string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolvePromise) => {
    execFile(
      command,
      args,
      { cwd: options.cwd ?? ROOT, env: options.env ?? process.env, timeout: options.timeoutMs ?? 60_000, maxBuffer: 32 << 20 },
      (error, stdout, stderr) => {
        // -1: killed by a signal or the timeout, never confused with an exit status.
        const code = error ? (typeof error.code === "number" ? error.code : -1) : 0;
        resolvePromise({ code, stdout, stderr });
      },
    );
  });
}
