import pino, { type Logger } from "pino";

export type { Logger } from "pino";

/** Structured JSON logs on stdout (pino), one object a line. */
export function createLogger(level: string): Logger {
  return pino({ level, base: { service: "token-orchestrator" } });
}
