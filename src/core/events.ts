/**
 * What happens to keys, as Watch will stream it and the key-activity log writes it.
 * Caller-made: CREATED, ACQUIRED, RELEASED, KEPT_ALIVE, DELETED (and COOLDOWN_STARTED
 * with leases). Automatic: AUTO_RELEASED at a hold's release_at, EXPIRED at expires_at.
 */
export type KeyEventType =
  | "CREATED"
  | "ACQUIRED"
  | "RELEASED"
  | "AUTO_RELEASED"
  | "COOLDOWN_STARTED"
  | "KEPT_ALIVE"
  | "EXPIRED"
  | "DELETED";

export const KEY_EVENT_TYPES: readonly KeyEventType[] = [
  "CREATED",
  "ACQUIRED",
  "RELEASED",
  "AUTO_RELEASED",
  "COOLDOWN_STARTED",
  "KEPT_ALIVE",
  "EXPIRED",
  "DELETED",
];

export interface KeyEvent {
  readonly type: KeyEventType;
  readonly keyId: string;
  /** When it happened: now for a caller's change, the deadline itself for an automatic one. */
  readonly at: number;
  /** The lease it is about: the one acquired, released, cooled down, ended by time or kept alive. */
  readonly lease?: number;
}

/** Told of every key event, in the order they happen. Must not throw, and must be cheap. */
export type KeyEventListener = (event: KeyEvent) => void;

/** The events a caller's call makes; the others are deadlines applied, whoever applied them. */
export const CALLER_MADE_EVENTS: ReadonlySet<KeyEventType> = new Set(["CREATED", "ACQUIRED", "RELEASED", "KEPT_ALIVE", "DELETED", "COOLDOWN_STARTED"]);
