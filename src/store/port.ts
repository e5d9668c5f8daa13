import type { KeyEvent } from "../core/events";
import type { KeyRecord, PoolCounts } from "../core/key-pool";

export type { KeyRecord, PoolCounts } from "../core/key-pool";
export type { KeyEvent, KeyEventType } from "../core/events";

/** A key event as the store reports it: a caller's change names the caller (`by`), when known. */
export interface StoreKeyEvent extends KeyEvent {
  readonly by?: string;
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
  /** `by`: the caller's name, for the events the change makes (never a token or an id). */
  create(by?: string): Promise<KeyRecord>;
  acquire(by?: string): Promise<KeyRecord>;
  get(keyId: string): Promise<KeyRecord>;
  release(keyId: string, by?: string): Promise<KeyRecord>;
  keepAlive(keyId: string, by?: string): Promise<KeyRecord>;
  delete(keyId: string, by?: string): Promise<void>;
  /**
   * Calls `listener` with every key event this store applies, in order: the changes its
   * calls make and the deadlines they or its sweeper apply (on Redis, the events of the
   * scripts this instance ran, so every event is reported by exactly one instance).
   */
  onKeyEvent(listener: (event: StoreKeyEvent) => void): void;
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
