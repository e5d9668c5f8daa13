import { ReplyError } from "ioredis";
import { DomainError } from "../../core/errors";

// Replies that mean "this server cannot serve right now", not "the script is wrong".
const TRANSIENT_REPLY = /^(LOADING|BUSY|MASTERDOWN|READONLY|TRYAGAIN|CLUSTERDOWN|NOREPLICAS)\b/;

/**
 * Connection failures, timeouts and transient server states become UNAVAILABLE
 * (the caller may retry); anything else (a script bug) stays unexpected → INTERNAL.
 */
export function toStoreError(error: unknown): unknown {
  if (error instanceof DomainError) return error;
  if (error instanceof ReplyError && !TRANSIENT_REPLY.test((error as Error).message)) return error;
  return new DomainError("unavailable", "the key store is unavailable; retry later");
}
