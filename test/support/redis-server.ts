import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Redis from "ioredis";

export interface TestRedisOptions {
  /** Append-only file with fsync always, so a restart keeps every key (default). Off: no persistence at all. */
  readonly durable?: boolean;
  /** How to start `redis-server` with these arguments (the load bench pins and tracks its processes). */
  readonly spawnServer?: (args: readonly string[]) => ChildProcess;
}

/**
 * A redis-server of the caller's own, on a free port, with its data in a temp dir.
 * It never touches a Redis it did not start; when redis-server is missing it fails loudly.
 */
export class TestRedis {
  private child: ChildProcess | undefined;
  private readonly dir = mkdtempSync(join(tmpdir(), "tokens-redis-"));

  private constructor(
    readonly port: number,
    private readonly options: TestRedisOptions,
  ) {}

  static async start(options: TestRedisOptions = {}): Promise<TestRedis> {
    const probe = spawnSync("redis-server", ["--version"]);
    if (probe.error !== undefined) {
      throw new Error("redis-server is not installed (Debian package redis-server; scripts/ensure-tools.sh installs it)");
    }
    const server = new TestRedis(await freePort(), options);
    await server.up();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts (or restarts) the server on the same port and data dir. */
  async up(): Promise<void> {
    const persistence = this.options.durable === false ? ["--appendonly", "no"] : ["--appendonly", "yes", "--appendfsync", "always"];
    const args = ["--port", String(this.port), "--bind", "127.0.0.1", "--dir", this.dir, "--save", "", ...persistence];
    const child = this.options.spawnServer?.(args) ?? spawn("redis-server", args, { stdio: "ignore" });
    this.child = child;
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}`);
      if (await this.pings()) return;
      if (Date.now() > deadline) throw new Error("redis-server did not answer PING in 10 s");
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Kills the server abruptly (SIGKILL), as an outage would. */
  async kill(): Promise<void> {
    const child = this.child;
    if (child === undefined || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGKILL");
    await exited;
    this.child = undefined;
  }

  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** A plain client for assertions (the caller disconnects it). */
  client(): Redis {
    const client = new Redis(this.url, { lazyConnect: false, maxRetriesPerRequest: 1 });
    client.on("error", () => undefined);
    return client;
  }

  private async pings(): Promise<boolean> {
    const redis = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
    redis.on("error", () => undefined);
    try {
      await redis.connect();
      return (await redis.ping()) === "PONG";
    } catch {
      return false;
    } finally {
      redis.disconnect();
    }
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address !== null ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}
