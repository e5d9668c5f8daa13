import { Server, ServerCredentials } from "@grpc/grpc-js";
import type { BoundService } from "../../service/bind";
import { grpcDefinition, grpcImplementation } from "./adapter";
import { descriptorSet } from "../descriptors";
import type { HealthReporter } from "./health";
import { addReflection } from "./reflection";

const HEALTH_SERVICE = "grpc.health.v1.Health";
const REFLECTION_SERVICES = ["grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"];

export interface GrpcServerParts {
  /** Application services with their fully-qualified proto names. */
  readonly services: readonly { readonly name: string; readonly bound: BoundService }[];
  readonly health: HealthReporter;
}

/** A grpc-js server with the application services, health, and reflection from the compiled descriptors. */
export function createGrpcServer(parts: GrpcServerParts): Server {
  const server = new Server();
  for (const { bound } of parts.services) server.addService(grpcDefinition(bound), grpcImplementation(bound));
  parts.health.implementation.addToServer(server);
  addReflection(server, descriptorSet(), [...parts.services.map((s) => s.name), HEALTH_SERVICE, ...REFLECTION_SERVICES]);
  return server;
}

/** Binds without TLS (operators run it behind their own mesh or proxy); resolves to the bound port. */
export function listenGrpc(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(`${host.includes(":") ? `[${host}]` : host}:${port}`, ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    );
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
