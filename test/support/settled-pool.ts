import { expect } from "chai";
import { CATCHING_UP, type CatchingUp, KeyPool, type KeyRecord } from "../../src/core/key-pool";

/** Unwraps an answer that must not be CATCHING_UP (no backlog beyond one call's budget). */
export function settled<T>(answer: T | CatchingUp): T {
  if (answer === CATCHING_UP) expect.fail("the pool answered CATCHING_UP where no backlog exceeds the budget");
  return answer;
}

/** A KeyPool for tests that never build a backlog beyond the budget: acquire and create answer records. */
export class SettledPool extends KeyPool {
  override acquire(): KeyRecord {
    return settled(super.acquire());
  }

  override create(ttlMs?: number): KeyRecord {
    return settled(super.create(ttlMs));
  }
}
