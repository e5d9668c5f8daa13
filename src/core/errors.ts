/**
 * The closed list of failures the domain can report. Each transport maps these
 * through one table at its edge (src/service/status.ts); nothing else is thrown on purpose.
 */
export type DomainErrorKind =
  /** The request itself is malformed (for example an empty or over-long key id). */
  | "invalid_argument"
  /** The key does not exist: never created, deleted, or expired. */
  | "not_found"
  /** Acquire found no available key. */
  | "no_available_key"
  /** The pool is at its configured size limit. */
  | "capacity_exhausted"
  /** The backing store cannot be reached right now; the call may be retried. */
  | "unavailable"
  /** Release or KeepAlive named a lease that is not the key's current one (fencing). */
  | "lease_mismatch"
  /** Watch asked for a revision the event log no longer retains. */
  | "out_of_range";

export class DomainError extends Error {
  override readonly name = "DomainError";

  constructor(
    readonly kind: DomainErrorKind,
    message: string,
  ) {
    super(message);
  }
}

export function isDomainError(value: unknown): value is DomainError {
  return value instanceof DomainError;
}
