import type { Server as HttpServer } from "node:http";
import type { Server as GrpcServer } from "@grpc/grpc-js";
import type { Clock } from "./core/clock";
import type { Config } from "./config";
import { systemClock } from "./platform/system-clock";
import type { Logger } from "./platform/logger";
import { authenticate, limitRate, requiredRoles } from "./service/access";
import { bindService } from "./service/bind";
import { keyActivity } from "./service/key-activity";
import { ServiceMetrics } from "./service/metrics";
import { standardSteps } from "./service/pipeline";
import { RateLimiter } from "./service/rate-limit";
import { Waiters } from "./service/waiters";
import { TokenService, tokenServiceHandlers } from "./service/token-service";
import { createStore } from "./store/create-store";
import type { KeyStore } from "./store/port";
import { descriptorRegistry } from "./transport/descriptors";
import { HealthReporter } from "./transport/grpc/health";
import { createGrpcServer, listenGrpc, stopGrpc } from "./transport/grpc/server";
import { Gateway } from "./transport/http/gateway";
import { openApiDocument } from "./transport/http/openapi";
import { routesFromDescriptors } from "./transport/http/routes";
import { restListener } from "./transport/http/rest-listener";
import { boundPort, listenHttp, stopHttp } from "./transport/http/server";
import { BODY_LIMIT_BYTES, TOKEN_REST_OPTIONS } from "./transport/http/token-rest";

export const TOKEN_SERVICE = TokenService.typeName;

export interface AppOptions {
  readonly config: Config;
  readonly logger: Logger;
  /** Defaults to the system clock. */
  readonly clock?: Clock;
  /** Defaults to the store the config names. */
  readonly store?: KeyStore;
}

export interface RunningApp {
  readonly grpcAddress: string;
  readonly httpAddress: string;
  readonly grpcPort: number;
  readonly httpPort: number;
  readonly store: KeyStore;
  readonly health: HealthReporter;
  readonly metrics: ServiceMetrics;
  /** Health NOT_SERVING, refuse new calls, finish calls in flight (bounded), close the store. */
  stop(): Promise<void>;
}

/** Wires store → service → both transports and starts listening. */
export async function startApp(options: AppOptions): Promise<RunningApp> {
  const { config, logger } = options;
  const clock = options.clock ?? systemClock;
  const store = options.store ?? (await createStore(config, clock));
  const metrics = new ServiceMetrics(() => store.counts());
  store.onKeyEvent(keyActivity(logger, metrics));
  // One binding, one pipeline: gRPC and REST run the very same handlers and steps.
  const steps = standardSteps({
    logger,
    metrics,
    ...(config.tokens === undefined ? {} : { access: authenticate(config.tokens, requiredRoles([TokenService])) }),
    ...(config.rateLimit === undefined ? {} : { rateLimit: limitRate(new RateLimiter(config.rateLimit, clock)) }),
  });
  const waiters = new Waiters(store, clock);
  // Aborted when stop() begins: open streams end at once (their callers resume on another instance).
  const stopping = new AbortController();
  const tokens = bindService(TokenService, tokenServiceHandlers({
      store,
      waiters,
      maxAcquireWaitMs: config.maxAcquireWaitMs,
      watch: { stallMs: config.watchSendTimeoutMs },
      stopping: stopping.signal,
    }), steps);
  const health = new HealthReporter([TOKEN_SERVICE], store.isReady());
  store.onReadyChange((ready) => health.set(ready && !stopping.signal.aborted));
  const routes = routesFromDescriptors(descriptorRegistry(), [TOKEN_SERVICE]);
  const gateway = new Gateway(routes, tokens.methods, TOKEN_REST_OPTIONS);
  const grpcServer = createGrpcServer({ services: [{ name: TOKEN_SERVICE, bound: tokens }], health });
  const rest = restListener({
    gateway,
    openApi: openApiDocument(routes, TOKEN_REST_OPTIONS),
    isServing: () => health.isServing(),
    metrics: { contentType: metrics.contentType(), text: () => metrics.text() },
    bodyLimitBytes: BODY_LIMIT_BYTES,
    onError: (error) => logger.error({ err: error }, "unexpected HTTP error"),
  });

  let httpServer: HttpServer | undefined;
  let grpcPort: number;
  try {
    grpcPort = await listenGrpc(grpcServer, config.host, config.grpcPort, config.tls).catch((error: unknown) => {
      throw new Error(`cannot listen for gRPC on HOST=${config.host} GRPC_PORT=${config.grpcPort}: ${reason(error)}`);
    });
    httpServer = await listenHttp(rest, config.host, config.httpPort, config.tls).catch((error: unknown) => {
      throw new Error(`cannot listen for REST on HOST=${config.host} PORT=${config.httpPort}: ${reason(error)}`);
    });
  } catch (error) {
    grpcServer.forceShutdown();
    httpServer?.close();
    await store.close();
    throw error;
  }
  const host = hostForUrl(config.host);
  const httpPort = boundPort(httpServer);
  const stop = once(() => {
    stopping.abort();
    return stopAll(config, health, grpcServer, httpServer, store);
  });
  return { grpcAddress: `${host}:${grpcPort}`, httpAddress: `${host}:${httpPort}`, grpcPort, httpPort, store, health, metrics, stop };
}

async function stopAll(config: Config, health: HealthReporter, grpc: GrpcServer, http: HttpServer, store: KeyStore): Promise<void> {
  health.set(false);
  await Promise.all([stopGrpc(grpc, config.shutdownGraceMs), stopHttp(http, config.shutdownGraceMs)]);
  await store.close();
}

function once(action: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | undefined;
  return () => (running ??= action());
}

/** The first line of an error's message: listen errors from grpc-js span several. */
function reason(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split("\n")[0] ?? "";
}

export function hostForUrl(host: string): string {
  return host.includes(":") ? `[${host}]` : host;
}
