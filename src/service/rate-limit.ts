import type { Clock } from "../core/clock";

/**
 * Token buckets, one per caller: `rate` requests a second, bursts of up to one
 * second's worth. Per instance: N instances behind a balancer allow up to N × rate.
 * The table keeps at most `maxCallers` buckets (the least recently refused or served
 * go first), so callers an attacker makes up (remote addresses) cannot grow it.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly rate: number,
    private readonly clock: Clock,
    private readonly maxCallers = 10_000,
  ) {
    if (!(rate > 0)) throw new RangeError("rate must be above 0");
  }

  /** Takes one token for `caller`: 0 when allowed, else how many ms until one is available. */
  take(caller: string): number {
    const now = this.clock.now();
    const bucket = this.buckets.get(caller);
    let tokens = this.rate;
    if (bucket !== undefined) {
      tokens = Math.min(this.rate, bucket.tokens + ((now - bucket.at) * this.rate) / 1000);
      this.buckets.delete(caller); // re-inserted below: Map order is recency
    } else if (this.buckets.size >= this.maxCallers) {
      const oldest = this.buckets.keys().next().value;
      if (oldest !== undefined) this.buckets.delete(oldest);
    }
    const allowed = tokens >= 1;
    this.buckets.set(caller, { tokens: allowed ? tokens - 1 : tokens, at: now });
    return allowed ? 0 : Math.ceil(((1 - tokens) * 1000) / this.rate);
  }
}
