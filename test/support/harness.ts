import { Writable } from "node:stream";
import pino from "pino";
import { createTokenClient, type TokenClient } from "../../clients";
import { type RunningApp, startApp } from "../../src/app";
import type { Clock } from "../../src/core/clock";
import { type Config, loadConfig } from "../../src/config";
import type { KeyStore } from "../../src/store/port";

export interface Harness {
  readonly app: RunningApp;
  readonly client: TokenClient;
  readonly config: Config;
  /** Every log line the app wrote, parsed. */
  readonly logs: Record<string, unknown>[];
  close(): Promise<void>;
}

export interface HarnessOptions {
  readonly env?: Readonly<Record<string, string>>;
  readonly clock?: Clock;
  readonly store?: KeyStore;
}

/** Starts the whole app in-process on ephemeral ports, with a real client over a real socket. */
export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const config = loadConfig({ HOST: "127.0.0.1", GRPC_PORT: "0", PORT: "0", ...options.env });
  const logs: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString("utf8").split("\n")) if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  // debug: the per-call lines too, which tests read.
  const logger = pino({ level: "debug" }, sink);
  const app = await startApp({
    config,
    logger,
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.store ? { store: options.store } : {}),
  });
  const client = createTokenClient(app.grpcAddress);
  return {
    app,
    client,
    config,
    logs,
    close: async () => {
      client.close();
      await app.stop();
    },
  };
}
