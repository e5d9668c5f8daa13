import { performance } from "node:perf_hooks";
import type { Logger } from "pino";
import { Code, toCallError } from "./status";

/** What every step of a call may know about it, whichever transport carried it. */
export interface CallContext {
  /** The full gRPC method path, e.g. "/tokens.v1.TokenService/Get". */
  readonly method: string;
  readonly transport: "grpc" | "http";
  /** The caller's request id, or one made for the call (src/service/request-id.ts). */
  readonly requestId: string;
}

export type CallHandler<Req, Res> = (request: Req, context: CallContext) => Promise<Res>;

/**
 * A cross-cutting step (logging today; authentication and metrics later). Both
 * transports run the same steps, in the same order, so they cannot drift.
 */
export type CallStep = <Req, Res>(request: Req, context: CallContext, next: CallHandler<Req, Res>) => Promise<Res>;

/** Wraps a handler in steps; the first step is the outermost. */
export function composeSteps<Req, Res>(steps: readonly CallStep[], handler: CallHandler<Req, Res>): CallHandler<Req, Res> {
  return steps.reduceRight<CallHandler<Req, Res>>(
    (next, step) => (request, context) => step(request, context, next),
    handler,
  );
}

/** Normalises every failure into a CallError (unexpected ones into INTERNAL). */
export const mapErrors: CallStep = async (request, context, next) => {
  try {
    return await next(request, context);
  } catch (error) {
    throw toCallError(error);
  }
};

/** One structured log line per call: method, status code, duration. Runs outside mapErrors. */
export function logCalls(logger: Logger): CallStep {
  return async (request, context, next) => {
    const started = performance.now();
    let code: number = Code.OK;
    try {
      return await next(request, context);
    } catch (error) {
      code = typeof (error as { code?: unknown }).code === "number" ? (error as { code: number }).code : Code.UNKNOWN;
      if (code === Code.INTERNAL) logger.error({ err: (error as Error).cause ?? error, method: context.method }, "call failed");
      throw error;
    } finally {
      if (logger.isLevelEnabled("info")) {
        logger.info(
          {
            method: context.method,
            transport: context.transport,
            code,
            ms: Math.round((performance.now() - started) * 1000) / 1000,
            requestId: context.requestId,
          },
          "call",
        );
      }
    }
  };
}

/** The standard pipeline: log, then map errors, then the handler. */
export function standardSteps(logger: Logger): readonly CallStep[] {
  return [logCalls(logger), mapErrors];
}
