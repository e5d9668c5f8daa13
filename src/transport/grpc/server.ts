import { type ChannelOptions, Server, ServerCredentials } from "@grpc/grpc-js";
import type { TlsFiles } from "../../config";
import type { BoundService } from "../../service/bind";
import { grpcDefinition, grpcImplementation } from "./adapter";
import { descriptorSet } from "../descriptors";
import type { HealthReporter } from "./health";
import { addReflection } from "./reflection";
import { dropWritesAfterStatus } from "./writes-after-status";

const HEALTH_SERVICE = "grpc.health.v1.Health";
const REFLECTION_SERVICES = ["grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"];

export interface GrpcServerParts {
  /** Application services with their fully-qualified proto names. */
  readonly services: readonly { readonly name: string; readonly bound: BoundService }[];
  readonly health: HealthReporter;
}

/**
 * The server's limits, explicit rather than grpc-js's defaults: requests are tiny (the
 * REST body limit applies); answers may hold whole descriptor files (reflection); idle
 * connections are pinged, then closed; every connection is recycled after an hour, so
 * no client holds one for ever (its calls get a grace minute, streams resume elsewhere).
 */
export const GRPC_LIMITS: ChannelOptions = {
  "grpc.max_receive_message_length": 64 * 1024,
  "grpc.max_send_message_length": 4 * 1024 * 1024,
  "grpc.max_concurrent_streams": 1000,
  "grpc.keepalive_time_ms": 120_000,
  "grpc.keepalive_timeout_ms": 20_000,
  "grpc.max_connection_idle_ms": 300_000,
  "grpc.max_connection_age_ms": 3_600_000,
  "grpc.max_connection_age_grace_ms": 60_000,
};

/** A grpc-js server with the application services, health, and reflection from the compiled descriptors. */
export function createGrpcServer(parts: GrpcServerParts): Server {
  const server = new Server({ ...GRPC_LIMITS, interceptors: [dropWritesAfterStatus] });
  for (const { bound } of parts.services) server.addService(grpcDefinition(bound), grpcImplementation(bound));
  parts.health.implementation.addToServer(server);
  addReflection(server, descriptorSet(), [...parts.services.map((s) => s.name), HEALTH_SERVICE, ...REFLECTION_SERVICES]);
  return server;
}

/** Binds with TLS (mutual when a client CA is given) or without; resolves to the bound port. */
export function listenGrpc(server: Server, host: string, port: number, tls: TlsFiles | undefined): Promise<number> {
  const credentials =
    tls === undefined
      ? ServerCredentials.createInsecure()
      : ServerCredentials.createSsl(tls.clientCa ?? null, [{ private_key: tls.key, cert_chain: tls.cert }], tls.clientCa !== undefined);
  return new Promise((resolve, reject) => {
    server.bindAsync(`${host.includes(":") ? `[${host}]` : host}:${port}`, credentials, (error, bound) => (error ? reject(error) : resolve(bound)));
  });
}

/**
 * Graceful stop: refuse new calls, let calls in flight finish, force after `graceMs`.
 * Resolves at the forced stop without waiting for the connections to close: Node
 * ends an HTTP/2 session's socket gracefully, and a peer that stops reading would
 * keep it open (and this promise pending) for ever.
 */
export function stopGrpc(server: Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const force = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    force.unref();
    server.tryShutdown(() => {
      clearTimeout(force);
      resolve();
    });
  });
}
