/**
 * The processes under load: the compiled service (`node dist/src/main.js`, as
 * `npm start` runs it) and the bare baselines, each in its own process on the
 * server CPU; and the pool fill, done with h2load so that 1e5 Creates take
 * seconds, not a minute of Node client overhead.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { CreateRequest } from "../../clients/generated/tokens/v1/tokens";
import { compiledServer } from "./compile";
import { JsonProcess, launch } from "./procs";
import type { Settings } from "./settings";
import { h2load } from "./tools";
import { checkGrpc, grpcFrame, type GrpcWorkload } from "./workloads";

export interface Target {
  readonly name: string;
  readonly process: JsonProcess;
  /** host:port */
  readonly grpc: string | undefined;
  readonly http: string | undefined;
}

export const grpcOf = (target: Target): string => target.grpc ?? fail(`${target.name} serves no gRPC`);
export const httpOf = (target: Target): string => `http://${target.http ?? fail(`${target.name} serves no REST`)}`;

function fail(message: string): never {
  throw new Error(message);
}

/** The compiled service with the given environment (free ports, quiet logs, a pool bound far above the bench's). */
export async function startService(name: string, settings: Settings, env: Readonly<Record<string, string>>): Promise<Target> {
  const child = launch(process.execPath, ["dist/src/main.js"], {
    cpu: settings.serverCpu,
    env: { HOST: "127.0.0.1", GRPC_PORT: "0", PORT: "0", LOG_LEVEL: "warn", MAX_KEYS: "100000000", ...env },
  });
  return started(name, new JsonProcess(name, child));
}

const BASELINES = { grpc: "bare grpc-js", node: "bare node:http", express: "bare Express" } as const;

export async function startBaseline(kind: keyof typeof BASELINES, settings: Settings): Promise<Target> {
  const name = BASELINES[kind];
  const child = launch(process.execPath, [compiledServer("bench/load/baselines.ts"), kind], { cpu: settings.serverCpu });
  return started(name, new JsonProcess(name, child));
}

export async function started(name: string, process: JsonProcess): Promise<Target> {
  try {
    const { grpc, http } = await process.addresses();
    return { name, process, grpc, http };
  } catch (error) {
    await process.stop();
    throw error;
  }
}

/** Starts targets at once; every one that started is in `into` (for stopping) even when another failed. */
export async function startAll(starts: readonly Promise<Target>[], into: Target[]): Promise<Target[]> {
  const settled = await Promise.allSettled(starts);
  const started = settled.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
  into.push(...started);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === "rejected");
  if (failed !== undefined) throw failed.reason;
  return started;
}

/** Creates `count` keys through gRPC; every answer must carry a key (a failed Create answers trailers only). */
export async function fillPool(target: Target, count: number, settings: Settings): Promise<void> {
  const create: GrpcWorkload = { name: "fill", measures: "", methods: ["/tokens.v1.TokenService/Create"], message: CreateRequest.encode({}).finish(), acquireShare: 0 };
  const frame = grpcFrame(create.message);
  const bodyFile = join(settings.dir, "create.bin");
  writeFileSync(bodyFile, frame);
  const expected = await checkGrpc(grpcOf(target), create, frame);
  const { result } = await h2load({
    urls: create.methods.map((method) => `http://${grpcOf(target)}${method}`),
    bodyFile,
    clients: 4,
    streams: 64,
    seconds: 600,
    count: count - 1, // the probe made one
    cpu: settings.loadCpu,
    dir: settings.dir,
  });
  // A failed Create answers trailers only (no DATA); answers vary by a few bytes (timestamps' varints).
  if (result.requests !== count - 1 || result.errors > 0 || (result.bytesPerResponse ?? 0) < 0.95 * expected) {
    throw new Error(`${target.name}: filling the pool failed (${result.requests} done, ${result.errors} errors, ${result.bytesPerResponse} B/answer, expected ${expected})`);
  }
}
