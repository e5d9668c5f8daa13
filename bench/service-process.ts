/**
 * The compiled service as its own process (`node dist/src/main.js`, as `npm start` runs
 * it) for the benches that measure it from outside (slowloris, soak): built first, on
 * free ports, quiet logs, stopped by its pid whatever happens (bench/load/procs.ts).
 */
import { buildService } from "./load/build";
import { JsonProcess, launch } from "./load/procs";

export interface ServiceProcess {
  readonly process: JsonProcess;
  /** host:port */
  readonly grpc: string;
  readonly http: string;
  stop(): Promise<void>;
}

export interface ServiceOptions {
  readonly env?: Readonly<Record<string, string>>;
  /** Node options before the entry point (e.g. `--require` a bench-only preload). */
  readonly nodeArgs?: readonly string[];
  /** Pin the server to this CPU (when taskset is there). */
  readonly cpu?: number;
}

export async function startServiceProcess(options: ServiceOptions = {}): Promise<ServiceProcess> {
  buildService();
  const child = launch(process.execPath, [...(options.nodeArgs ?? []), "dist/src/main.js"], {
    cpu: options.cpu,
    env: { HOST: "127.0.0.1", GRPC_PORT: "0", PORT: "0", LOG_LEVEL: "warn", ...options.env },
  });
  const service = new JsonProcess("service", child);
  try {
    const { grpc, http } = await service.addresses();
    if (grpc === undefined || http === undefined) throw new Error("the service's start-up line names no gRPC or REST address");
    return { process: service, grpc, http, stop: () => service.stop() };
  } catch (error) {
    await service.stop();
    throw error;
  }
}
