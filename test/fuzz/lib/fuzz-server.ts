import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTokenClient, type TokenClient } from "../../../clients";
import { type Harness, startHarness } from "../../support/harness";
import { FUZZ_TOKENS, writeTokensFile } from "./tokens";

/** One server under test: the real app in-process, open or with tokens, on either store. */
export interface FuzzServer {
  readonly name: string;
  readonly harness: Harness;
  /** True when AUTH_TOKENS_FILE is set (calls need a token). */
  readonly secured: boolean;
  /** A typed client that may call everything (the admin token when secured). */
  readonly admin: TokenClient;
  /** Keys created before the fuzz starts, for cases that name a real key. */
  readonly knownKeys: readonly string[];
  /** The settings it runs with (valid until close): a service process can run with the same. */
  readonly env: Readonly<Record<string, string>>;
  close(): Promise<void>;
}

export interface FuzzServerOptions {
  readonly secured: boolean;
  /** Extra settings (STORE, REDIS_URL). */
  readonly env?: Readonly<Record<string, string>>;
  readonly knownKeys?: number;
}

/**
 * Holds and cooldowns are short (BLOCK_TTL 1s, at most 2s, MAX_BLOCK_TTL) so that, once
 * the fuzz stops, every key is available again within two seconds for the pool check;
 * an Acquire waits at most 200 ms (MAX_ACQUIRE_WAIT) so `?wait=` cases stay quick. The
 * stop's grace is 1 s: after an HTTP/2 connection error Node keeps the server's socket
 * until the keep-alive ping finds it dead (minutes), and a stop would wait for it.
 */
export const FUZZ_ENV: Readonly<Record<string, string>> = { BLOCK_TTL: "1s", MAX_BLOCK_TTL: "2s", MAX_ACQUIRE_WAIT: "200ms", SHUTDOWN_GRACE: "1s" };

export async function startFuzzServer(options: FuzzServerOptions): Promise<FuzzServer> {
  const dir = mkdtempSync(join(tmpdir(), "tokens-fuzz-"));
  const env = { ...FUZZ_ENV, ...options.env, ...(options.secured ? { AUTH_TOKENS_FILE: writeTokensFile(dir) } : {}) };
  const harness = await startHarness({ env });
  const admin = options.secured ? createTokenClient(harness.app.grpcAddress, { token: FUZZ_TOKENS.admin }) : harness.client;
  const knownKeys: string[] = [];
  for (let i = 0; i < (options.knownKeys ?? 20); i += 1) knownKeys.push((await admin.create({})).keyId);
  const name = `${options.env?.["STORE"] ?? "memory"} store, ${options.secured ? "with tokens" : "open"}`;
  return {
    name,
    harness,
    secured: options.secured,
    admin,
    knownKeys,
    env,
    close: async () => {
      if (admin !== harness.client) admin.close();
      await harness.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Log lines at error or worse: each one is an unexpected failure inside the server (a bug). */
export function errorLogs(server: FuzzServer): Record<string, unknown>[] {
  return server.harness.logs.filter((line) => typeof line["level"] === "number" && line["level"] >= 50);
}
