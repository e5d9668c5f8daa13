import { randomUUID } from "node:crypto";

/** What a caller's request id may look like: short, printable, no spaces or quotes. */
const USABLE = /^[\w.:@/+=-]{1,128}$/;

/**
 * The one request-id rule, for both transports: the caller's id (gRPC metadata or
 * HTTP header `x-request-id`) when it is usable, else a new UUID. Either way it is
 * logged with the call and echoed back (HTTP header, gRPC response metadata).
 */
export function requestIdOf(given: string | undefined): string {
  return given !== undefined && USABLE.test(given) ? given : randomUUID();
}

/** The metadata key and header name that carry it. */
export const REQUEST_ID_HEADER = "x-request-id";
