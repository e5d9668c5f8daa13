import { startApp } from "./app";
import { ConfigError, loadConfig } from "./config";
import { createLogger, routeGrpcLogs } from "./platform/logger";

/** Process entry point: configuration, start-up line, signals. */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`token-orchestrator: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const logger = createLogger(config.logLevel);
  routeGrpcLogs(logger);
  // Start-up and shutdown lines are printed whatever LOG_LEVEL says: operators and scripts wait for them.
  const lifecycle = logger.child({}, { level: "info" });
  const app = await startApp({ config, logger });
  let stopping = false;
  const shutdown = (signal: NodeJS.Signals): void => {
    // A second signal changes nothing: the stop under way ends within the same bound.
    if (stopping) {
      lifecycle.info({ signal }, "already shutting down");
      return;
    }
    stopping = true;
    lifecycle.info({ signal }, "shutting down");
    // The backstop: whatever a peer does (a stuck reader, an open stream) the process
    // ends within the grace period plus half a second. app.stop() normally wins.
    setTimeout(() => {
      lifecycle.warn({ graceMs: config.shutdownGraceMs }, "forced exit: connections still open after the grace period");
      process.exit(0);
    }, config.shutdownGraceMs + 500).unref();
    app.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", shutdown);
  process.on("SIGINT", shutdown);
  // Logged only once signals are handled: whoever waits for this line may stop us at once.
  lifecycle.info(
    { grpc: app.grpcAddress, http: app.httpAddress, store: config.store },
    `listening: gRPC ${app.grpcAddress}${config.tls === undefined ? "" : " (TLS)"}, REST ${config.tls === undefined ? "http" : "https"}://${app.httpAddress}` +
      (config.tokens === undefined ? " (open: no AUTH_TOKENS_FILE)" : ""),
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`token-orchestrator: failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
