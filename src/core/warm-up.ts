import { CATCHING_UP, DEADLINE_BUDGET, KeyPool, type KeyRecord } from "./key-pool";
import { isDomainError } from "./errors";

/**
 * Runs every path of the pool's code on a scratch pool, so V8 has optimised it
 * before the first real storm. Without it, the first storm of a fresh process is
 * where the sweeper's loop is first hot, and V8 compiles it then, on the main
 * thread: a pause of 10-30 ms measured (bench:load), several times the p99 of a
 * steady load. About a tenth of a second, once per process; the scratch pool is dropped after.
 */
export function warmUpPoolCode(rounds = 3, keys = 8192): void {
  let time = 0;
  const pool = new KeyPool({ now: () => time }, { keyTtlMs: 1000, blockTtlMs: 100, maxKeys: keys });
  /** Acquire until it answers (a record or "none available"), as the stores do. */
  const acquire = (): void => {
    try {
      while (pool.acquire() === CATCHING_UP);
    } catch (error) {
      if (!isDomainError(error)) throw error;
    }
  };
  for (let round = 0; round < rounds; round += 1) {
    const made: KeyRecord[] = [];
    for (let i = 0; i < keys; i += 1) {
      const key = pool.create();
      if (key !== CATCHING_UP) made.push(key);
    }
    for (let i = 0; i < keys / 2; i += 1) acquire();
    for (const { keyId } of made.slice(0, keys / 8)) {
      pool.get(keyId);
      pool.keepAlive(keyId);
      pool.release(keyId);
    }
    for (const { keyId } of made.slice(keys / 8, keys / 4)) pool.delete(keyId);
    time += 100; // the holds end: a release backlog for acquire and the sweep
    acquire();
    while (pool.expireDue(DEADLINE_BUDGET) === DEADLINE_BUDGET);
    time += 1000; // everything expires: an expiry backlog
    acquire();
    pool.create(); // at capacity or not, with passed expiries
    while (pool.expireDue(DEADLINE_BUDGET) === DEADLINE_BUDGET);
    time += 10_000;
  }
}
