import type { KeyRecord, PoolCounts } from "../core/key-pool";

export type { KeyRecord, PoolCounts } from "../core/key-pool";

/**
 * The storage port: whole pool operations, as bullmq does it, so each backend can
 * make every operation atomic its own way (one call on the in-memory pool, one Lua
 * script on Redis). The service and both transports know only this interface.
 *
 * Failures are DomainErrors (src/core/errors.ts); key ids reaching a store have
 * already been checked by the service.
 */
export interface KeyStore {
  create(): Promise<KeyRecord>;
  acquire(): Promise<KeyRecord>;
  get(keyId: string): Promise<KeyRecord>;
  release(keyId: string): Promise<KeyRecord>;
  keepAlive(keyId: string): Promise<KeyRecord>;
  delete(keyId: string): Promise<void>;
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
