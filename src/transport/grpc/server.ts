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
 * The server's limits, explicit rather than grpc-js's defaults (which bound nothing:
 * no idle limit, no age limit, pings every two hours). Every connection ends, whatever
 * its peer does: one that never answers a PING is closed at 2 min + 20 s (what
 * `npm run bench:slowloris` sees a silent HTTP/2 connection get), an idle one at 5 min,
 * and any one at 1 h + 1 min, which is also the bound for a stream whose request never
 * completes (grpc-js has no per-stream receive timeout).
 *
 * Not here, because grpc-js's server has no such setting: a ping policy
 * (`grpc.http2.min_ping_interval_without_data_ms`, max ping strikes: grpc-js reads
 * neither); Node's HTTP/2 (nghttp2) already ends a session flooding us with frames we
 * must acknowledge. A handshake timeout for TLS is Node's own (120 s). nghttp2's
 * rapid-reset guard (a burst of 1000 stream resets, then 33 a second) ends a connection
 * whose client cancels streams too fast with GOAWAY INTERNAL_ERROR, failing every call
 * on it (the soak met it: README, Operations); Node 20 has no setting for it and grpc-js
 * would not pass one.
 */
export const GRPC_LIMITS: ChannelOptions = {
  // Requests are tiny (a key id, a few durations; REST's body limit is 64 KiB too): a
  // larger message is refused before it is buffered whole.
  "grpc.max_receive_message_length": 64 * 1024,
  // Answers may hold whole descriptor files (reflection) and List pages of 1,000 keys.
  "grpc.max_send_message_length": 4 * 1024 * 1024,
  // Streams per connection: enough for a client multiplexing waits and watches, few
  // enough that one connection cannot hold unbounded handlers.
  "grpc.max_concurrent_streams": 1000,
  // Ping a connection after 2 min without traffic and close it if no answer comes in
  // 20 s: a peer that vanished (or never speaks HTTP/2 properly) does not hold a socket.
  "grpc.keepalive_time_ms": 120_000,
  "grpc.keepalive_timeout_ms": 20_000,
  // A connection with no call for 5 min is closed (GOAWAY): clients reconnect on demand,
  // and idle connections from many short-lived clients do not accumulate.
  "grpc.max_connection_idle_ms": 300_000,
  // Every connection is recycled after an hour (±10% jitter), so load spreads again after
  // a deploy and no connection lives for ever; calls in flight get a grace minute, and
  // streams (Watch resumes by revision) reconnect elsewhere.
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
