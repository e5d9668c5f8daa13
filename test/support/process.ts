import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { buildOnce, SERVICE_MAIN } from "./build";
import { ROOT } from "./run";

export interface ServiceProcess {
  readonly child: ChildProcess;
  readonly grpcAddress: string;
  readonly httpAddress: string | undefined;
  /** Every stdout line so far. */
  readonly lines: string[];
  /** Everything written to stderr so far (a crash's message, for one). */
  stderr(): string;
  /** Resolves with the exit code. */
  readonly exited: Promise<number | null>;
}

/**
 * Starts the built service as its own process, as `npm start` runs it (built first if
 * stale: `buildOnce`; a suite that calls this has `buildFirst()`), and waits for its start-up line.
 */
export async function startServiceProcess(env: Readonly<Record<string, string>>): Promise<ServiceProcess> {
  await buildOnce();
  const child = spawn(process.execPath, [SERVICE_MAIN], {
    cwd: ROOT,
    env: { ...process.env, HOST: "127.0.0.1", GRPC_PORT: "0", PORT: "0", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    let stderr = "";
    child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => reject(new Error(`no start-up line; stderr: ${stderr}`)), 20_000);
    void exited.then((code) => reject(new Error(`exited ${code} before start-up: ${stderr}`)));
    createInterface({ input: child.stdout! }).on("line", (line) => {
      lines.push(line);
      const parsed = JSON.parse(line) as { grpc?: string; http?: string };
      if (parsed.grpc !== undefined) {
        clearTimeout(timer);
        resolve({ child, grpcAddress: parsed.grpc, httpAddress: parsed.http, lines, exited, stderr: () => stderr });
      }
    });
  });
}
