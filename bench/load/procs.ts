/**
 * Every process the load bench starts goes through here, so that each one is
 * stopped by its own pid whatever happens (a failed step, an exception, Ctrl-C).
 * Optional CPU pinning (`taskset`) keeps the server under test and the load
 * generator on different cores, the same for the service and its baseline.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";

/** The repo root, from bench/load/ or from the compiled copy under .tmp/bench-load/ (see compile.ts). */
export const ROOT = findRoot(__dirname);

function findRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const manifest = join(dir, "package.json");
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, "utf8")) as { name?: unknown }).name === "token-orchestrator") return dir;
    if (dirname(dir) === dir) throw new Error(`no token-orchestrator package.json above ${from}`);
  }
}

const running = new Set<ChildProcess>();
let pinning = spawnSync("taskset", ["--version"]).error === undefined;

/** Turns pinning off (`--no-pin`) or reports that taskset is missing. */
export function setPinning(enabled: boolean): boolean {
  pinning = enabled && spawnSync("taskset", ["--version"]).error === undefined;
  return pinning;
}

/**
 * Whether this process may start a child at real-time priority (`chrt`: root, or
 * CAP_SYS_NICE). The kernel still keeps 5% of each second for everything else.
 */
export const REALTIME_ALLOWED = spawnSync("chrt", ["-f", "10", "true"]).status === 0;

export interface LaunchOptions {
  /** Pin to this CPU (when pinning is on). */
  readonly cpu?: number | undefined;
  /** At real-time priority (SCHED_FIFO 10) when REALTIME_ALLOWED: it runs whenever it has work, ahead of every other process. */
  readonly realtime?: boolean;
  readonly env?: Readonly<Record<string, string>>;
  /** Keep stdin open to send the process commands (the storm server). */
  readonly stdin?: boolean;
}

export function launch(command: string, args: readonly string[], options: LaunchOptions = {}): ChildProcess {
  const prioritized = options.realtime === true && REALTIME_ALLOWED ? ["chrt", "-f", "10", command, ...args] : [command, ...args];
  const line = pinning && options.cpu !== undefined ? ["taskset", "-c", String(options.cpu), ...prioritized] : prioritized;
  const child = spawn(line[0] as string, line.slice(1), {
    cwd: ROOT,
    env: { ...process.env, ...options.env },
    stdio: [options.stdin === true ? "pipe" : "ignore", "pipe", "pipe"],
  });
  running.add(child);
  child.once("exit", () => running.delete(child));
  // A spawn failure (ENOENT) is reported by whoever waits on the process; never an unhandled 'error'.
  child.on("error", () => undefined);
  return child;
}

export interface ToolResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to completion, killing it after `timeoutMs`. */
export function runTool(command: string, args: readonly string[], options: LaunchOptions & { timeoutMs: number }): Promise<ToolResult> {
  const child = launch(command, args, options);
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs);
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(new Error(`${command}: ${error.message}`));
    });
    child.once("close", (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
  });
}

/** A long-running process that talks in JSON lines on stdout (the service, the baselines, the storm server). */
export class JsonProcess {
  private readonly messages: Record<string, unknown>[] = [];
  private readonly waiters = new Set<() => void>();
  private stderr = "";
  readonly exited: Promise<number | null>;

  constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    this.exited = new Promise((resolveExit) => child.once("exit", (code) => resolveExit(code)));
    void this.exited.then(() => this.wake());
    child.stderr?.on("data", (chunk: Buffer) => (this.stderr = (this.stderr + chunk.toString()).slice(-4000)));
    createInterface({ input: child.stdout! }).on("line", (line) => {
      try {
        const parsed: unknown = JSON.parse(line);
        if (typeof parsed === "object" && parsed !== null) this.messages.push(parsed as Record<string, unknown>);
      } catch {
        // not a JSON line: ignored
      }
      this.wake();
    });
  }

  /** The first message (from the start, in order; after `skip` earlier ones) for which `pick` returns a value. */
  async waitFor<T>(pick: (message: Record<string, unknown>) => T | undefined, timeoutMs: number, what: string, skip = 0): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (let last = false; ; ) {
      let skipped = 0;
      for (const message of this.messages) {
        const value = pick(message);
        if (value !== undefined && skipped++ === skip) return value;
      }
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        throw new Error(`${this.name} exited (${this.child.exitCode ?? this.child.signalCode}) before ${what}: ${this.stderr.trim()}`);
      }
      const left = deadline - Date.now();
      if (left <= 0 && last) throw new Error(`${this.name}: no ${what} within ${timeoutMs} ms: ${this.stderr.trim()}`);
      if (left <= 0) {
        // After a blocked event loop, timers run before pending I/O: read the lines that came meanwhile, then decide.
        last = true;
        await new Promise((resolveTurn) => setImmediate(resolveTurn));
        continue;
      }
      await new Promise<void>((wake) => {
        const timer = setTimeout(done, left);
        function done(): void {
          clearTimeout(timer);
          wake();
        }
        this.waiters.add(done);
      });
    }
  }

  /** Waits for the start-up line (`{"grpc": "host:port", "http": "host:port"}`, as main.ts prints it). */
  async addresses(timeoutMs = 30_000): Promise<{ grpc: string | undefined; http: string | undefined }> {
    return this.waitFor(
      (m) => (typeof m["grpc"] === "string" || typeof m["http"] === "string" ? { grpc: str(m["grpc"]), http: str(m["http"]) } : undefined),
      timeoutMs,
      "start-up line",
    );
  }

  /** Every message so far for which `keep` holds, in order. */
  all(keep: (message: Record<string, unknown>) => boolean): Record<string, unknown>[] {
    return this.messages.filter(keep);
  }

  send(line: string): void {
    this.child.stdin?.write(`${line}\n`);
  }

  stop(): Promise<void> {
    return stopProcess(this.child);
  }

  private wake(): void {
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const wake of waiters) wake();
  }
}

const str = (value: unknown): string | undefined => (typeof value === "string" ? value : undefined);

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
export function stopProcess(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return Promise.resolve();
  return new Promise((resolveStop) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
    child.once("exit", () => {
      clearTimeout(timer);
      resolveStop();
    });
    child.kill("SIGTERM");
  });
}

/** Stops every process still running, each by its own handle. */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((child) => stopProcess(child)));
}

// Last resort (an exit without stopAll): nothing the bench started outlives it.
process.on("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});
