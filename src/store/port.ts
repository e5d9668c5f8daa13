import type { RevisionedEvent } from "../core/event-log";
import type { KeyEvent } from "../core/events";
import type { KeyRecord, KeyState, PoolCounts } from "../core/key-pool";

export type { KeyRecord, KeyState, PoolCounts } from "../core/key-pool";
export type { KeyEvent, KeyEventType } from "../core/events";
export type { RevisionedEvent } from "../core/event-log";

/** A key event as the store reports it: a caller's change names the caller (`by`), when known. */
export interface StoreKeyEvent extends KeyEvent {
  readonly by?: string;
}

/** Who makes a change: the caller's name, for the events it makes (never a token or an id). */
export interface Caller {
  readonly by?: string | undefined;
}

export interface CreateOptions extends Caller {
  /** The key's lifetime (ms); the store's default when absent. Clamped by the pool's rules. */
  readonly ttlMs?: number | undefined;
}

export interface AcquireOptions extends Caller {
  /** This hold's length (ms); the store's default when absent. Clamped by the pool's rules. */
  readonly blockTtlMs?: number | undefined;
}

export interface ReleaseOptions extends Caller {
  readonly lease?: number | undefined;
  /** Cool the key down for this long (ms) before it is available again. */
  readonly cooldownMs?: number | undefined;
}

export interface KeepAliveOptions extends Caller {
  readonly lease?: number | undefined;
}

/**
 * The pool's history for Watch: every key event under a revision, one more than the
 * event before it in the pool (all instances on Redis), the last WATCH_RETENTION kept.
 */
export interface EventFeed {
  /** The last event's revision (0 before any). */
  last(): Promise<number>;
  /**
   * Up to `max` events from revision `from` on, in order; [] when none has come yet.
   * out_of_range when `from` is older than what is retained.
   */
  read(from: number, max: number): Promise<readonly RevisionedEvent[]>;
  /** Calls `listener` whenever new events may be readable; returns the way to stop. */
  onAppend(listener: () => void): () => void;
}

/**
 * The storage port: whole pool operations, as bullmq does it, so each backend can
 * make every operation atomic its own way (one call on the in-memory pool, one Lua
 * script on Redis). The service and both transports know only this interface.
 *
 * Failures are DomainErrors (src/core/errors.ts); key ids reaching a store have
 * already been checked by the service.
 */
export interface KeyStore {
  create(options?: CreateOptions): Promise<KeyRecord>;
  acquire(options?: AcquireOptions): Promise<KeyRecord>;
  get(keyId: string): Promise<KeyRecord>;
  /** With `lease`: lease_mismatch (nothing changed) unless it is the key's current lease. */
  release(keyId: string, options?: ReleaseOptions): Promise<KeyRecord>;
  /** With `lease`: lease_mismatch unless current; the hold is renewed too. */
  keepAlive(keyId: string, options?: KeepAliveOptions): Promise<KeyRecord>;
  delete(keyId: string, options?: Caller): Promise<void>;
  /**
   * One page of the pool: at most `pageSize` keys (in `state` when given), each page
   * O(pageSize), never a scan; a key present for the whole walk appears at least once.
   * `pageToken` is "" for the first page or a `nextPageToken`; a token this store did
   * not make is invalid_argument. `nextPageToken` is "" on the last page.
   */
  list(pageToken: string, pageSize: number, state?: KeyState): Promise<{ readonly records: readonly KeyRecord[]; readonly nextPageToken: string }>;
  /**
   * The earliest end of a lease or cooldown (ms since the epoch; +Infinity: none): when a key
   * may free itself. Never later than the true one; the memory store may answer an earlier
   * instant for a hold renewed since it was filed, and an Acquire then re-files it.
   */
  nextRelease(): Promise<number>;
  /**
   * Calls `listener` when a key may have become available (created, released, a lease or
   * cooldown ended): on Redis, whichever instance freed it. Waiting acquires listen.
   */
  onKeyFreed(listener: () => void): void;
  /**
   * Calls `listener` with every key event this store applies, in order: the changes its
   * calls make and the deadlines they or its sweeper apply (on Redis, the events of the
   * scripts this instance ran, so every event is reported by exactly one instance).
   */
  onKeyEvent(listener: (event: StoreKeyEvent) => void): void;
  /** The pool's event history, for Watch. */
  readonly events: EventFeed;
  /**
   * Keys held by state, in O(1) on every store (all instances' keys on Redis). Passed
   * deadlines count as before until a call or the sweeper applies them (within about
   * a second): counting them exactly would mean applying an unbounded backlog.
   */
  counts(): Promise<PoolCounts>;
  /** Whether the store can serve calls now (health reports NOT_SERVING otherwise). */
  isReady(): boolean;
  /** Calls `listener` whenever readiness changes (a store that is always ready never calls it). */
  onReadyChange(listener: (ready: boolean) => void): void;
  /** Stops background work (the sweeper, connections). Idempotent. */
  close(): Promise<void>;
}
