import { performance } from "node:perf_hooks";
import type { Logger } from "pino";
import type { ServiceMetrics } from "./metrics";
import { CallError, Code, toCallError } from "./status";
import type { Caller } from "./tokens";

/** A call's shape, as go-grpc-prometheus's grpc_type label names it. */
export type CallKind = "unary" | "client_stream" | "server_stream" | "bidi_stream";

/** What every step of a call may know about it, whichever transport carried it. */
export interface CallContext {
  /** The full gRPC method path, e.g. "/tokens.v1.TokenService/Get". */
  readonly method: string;
  /** Unary or streaming: a stream runs through the steps once, start to end. */
  readonly kind: CallKind;
  readonly transport: "grpc" | "http";
  /** The caller's request id, or one made for the call (src/service/request-id.ts). */
  readonly requestId: string;
  /** The caller's `authorization` value (gRPC metadata or HTTP header), if any. */
  readonly authorization: string | undefined;
  /** The caller's end of the call: its address, and whether it is still there. */
  readonly remote: CallRemote;
  /**
   * Who called, once the authentication step has run with tokens configured. Every
   * transport sets it (undefined) when it makes the context, last: the step's copy with a
   * caller then has the same shape, so the steps and handlers that read the context see
   * one shape, not two (with tokens, two shapes cost REST calls a sixth of their speed).
   */
  readonly caller: Caller | undefined;
}

/**
 * The caller's end of one call, as its transport sees it, read on demand. Most calls
 * never need an AbortSignal or the address; made for every call, the signal cost about
 * a tenth of a Get's CPU (an AbortController, a listener, and the DOMException that
 * `abort()` makes: grpc-js reports every finished stream as "cancelled").
 */
export interface CallRemote {
  /** The caller's network address, without the port. */
  readonly address: string;
  /**
   * Names the caller's connection while it is open (peer address and port), or undefined
   * where connections cannot be told apart (a Unix socket, an in-process call). The
   * authentication step remembers per connection the header it last accepted.
   */
  readonly connection: string | undefined;
  /** True once the caller has cancelled or disconnected. Cheap: makes no signal. */
  readonly cancelled: boolean;
  /** Aborts when the caller cancels or disconnects (a waiting Acquire stops waiting); made on first use. */
  readonly signal: AbortSignal;
}

/**
 * A CallRemote whose AbortSignal is made on first use. A transport says how to tell the
 * caller is gone now (`cancelled`) and how to hear when it goes (`whenGone`, asked only
 * once a signal is wanted).
 */
export abstract class OnDemandRemote implements CallRemote {
  private controller: AbortController | undefined;

  abstract get address(): string;
  abstract get connection(): string | undefined;
  abstract get cancelled(): boolean;

  /** Calls `gone` once, when the caller cancels or disconnects. */
  protected abstract whenGone(gone: () => void): void;

  get signal(): AbortSignal {
    if (this.controller === undefined) {
      const controller = new AbortController();
      this.controller = controller;
      if (this.cancelled) controller.abort();
      else this.whenGone(() => controller.abort());
    }
    return this.controller.signal;
  }
}

/** A CallRemote over a signal the caller already holds (in-process calls, tests). */
export function remoteOf(signal: AbortSignal, address: string): CallRemote {
  return {
    address,
    connection: undefined,
    signal,
    get cancelled() {
      return signal.aborted;
    },
  };
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

/**
 * Watches every call, whichever transport carried it: the call metrics (started,
 * handled by code, handling time) and, at debug, one log line (method, transport,
 * code, duration, request id, caller name). Every failure leaves it as a CallError
 * (unexpected ones as INTERNAL, logged at error with their cause). Runs outermost, so
 * it sees the code the caller will get.
 */
export function observeCalls(logger: Logger, metrics: ServiceMetrics | undefined): CallStep {
  return async (request, context, next) => {
    const counters = metrics?.forCall(context.method, context.transport, context.kind);
    counters?.start();
    const started = performance.now();
    let code: number = Code.OK;
    try {
      const response = await next(request, context);
      // A stream the caller ended (a watch closed, a disconnect) is counted as go-grpc-prometheus counts it.
      if (context.remote.cancelled) code = Code.CANCELLED;
      return response;
    } catch (error) {
      const failure = toCallError(error);
      if (failure.code === Code.INTERNAL) logger.error({ err: failure.cause ?? error, method: context.method, requestId: context.requestId }, "call failed");
      if (context.remote.cancelled) {
        code = Code.CANCELLED; // whatever failed after the caller left, the caller cancelled
        throw new CallError(Code.CANCELLED, "the caller cancelled the call");
      }
      code = failure.code;
      throw failure;
    } finally {
      const seconds = (performance.now() - started) / 1000;
      counters?.finish(code, seconds);
      if (logger.isLevelEnabled("debug")) {
        logger.debug(
          {
            method: context.method,
            transport: context.transport,
            code,
            ms: Math.round(seconds * 1e6) / 1000,
            requestId: context.requestId,
            caller: context.caller?.name,
          },
          "call",
        );
      }
    }
  };
}

/** What the standard pipeline is made of. */
export interface PipelineParts {
  readonly logger: Logger;
  readonly metrics?: ServiceMetrics;
  /** Authentication and authorization; absent: open (no tokens configured). */
  readonly access?: CallStep;
  /** The rate limit; absent: none. */
  readonly rateLimit?: CallStep;
}

/** The standard pipeline, outermost first: observe (metrics, log, errors mapped), authenticate, rate limit, then the handler. */
export function standardSteps({ logger, metrics, access, rateLimit }: PipelineParts): readonly CallStep[] {
  return [observeCalls(logger, metrics), ...(access === undefined ? [] : [access]), ...(rateLimit === undefined ? [] : [rateLimit])];
}
