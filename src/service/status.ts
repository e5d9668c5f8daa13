import { status } from "@grpc/grpc-js";
import { type DomainErrorKind, isDomainError } from "../core/errors";

/**
 * The gRPC status codes, as a binding of this module: a re-export (`export { status as Code }`)
 * compiles to a CommonJS getter, a function call on every `Code.X` of every call (0.47 µs
 * of a REST Acquire+Release call, profiled on a slow machine).
 */
export const Code = status;
export type Code = status;

/**
 * The one table from domain failures to gRPC status codes. gRPC codes are the
 * service's lingua franca: the REST shim maps them on to HTTP as grpc-gateway does.
 */
const CODE_OF_KIND: Readonly<Record<DomainErrorKind, Code>> = {
  invalid_argument: Code.INVALID_ARGUMENT,
  not_found: Code.NOT_FOUND,
  no_available_key: Code.NOT_FOUND,
  capacity_exhausted: Code.RESOURCE_EXHAUSTED,
  unavailable: Code.UNAVAILABLE,
  lease_mismatch: Code.ABORTED,
  out_of_range: Code.OUT_OF_RANGE,
};

/** A failed call as both transports report it: a gRPC code and a message safe to show. */
export class CallError extends Error {
  override readonly name = "CallError";

  constructor(
    readonly code: Code,
    message: string,
    /** For RESOURCE_EXHAUSTED from the rate limit: when to try again (REST Retry-After, gRPC retry-after metadata). */
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

/**
 * Turns anything a handler threw into a CallError. Domain errors keep their
 * message; anything unexpected becomes INTERNAL with no detail, so internals
 * (stack traces, driver messages) never reach a caller. The cause is kept for the log.
 */
export function toCallError(error: unknown): CallError {
  if (error instanceof CallError) return error;
  if (isDomainError(error)) return new CallError(CODE_OF_KIND[error.kind], error.message);
  const internal = new CallError(Code.INTERNAL, "internal error");
  internal.cause = error;
  return internal;
}
