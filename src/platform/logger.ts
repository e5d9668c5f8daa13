import { setLogger } from "@grpc/grpc-js";
import pino, { type Logger } from "pino";

export type { Logger } from "pino";

/** Structured JSON logs on stdout (pino), one object a line. */
export function createLogger(level: string): Logger {
  return pino({ level, base: { service: "token-orchestrator" } });
}

/**
 * grpc-js writes its own diagnostics to stderr as free text; route them into the
 * structured log instead (at warn, tagged grpc-js), so stderr keeps to the one-line
 * start-up failure and every log line stays JSON.
 */
export function routeGrpcLogs(logger: Logger): void {
  const write = (...args: unknown[]): void => logger.warn({ source: "grpc-js" }, args.map(String).join(" "));
  setLogger({ error: write, info: write, debug: write });
}
