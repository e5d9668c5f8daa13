import type { Clock } from "../../core/clock";
import { DEADLINE_BUDGET } from "../../core/key-pool";

/** What the sweeper drives: a pool's deadline queue. */
export interface Expirable {
  nextDeadline(): number;
  expireDue(budget: number): number;
}

/**
 * The two ways the sweeper waits, each returning a function that cancels it.
 * Node's timers in production (`nodeTimers`); tests pass fake ones and move time by hand.
 */
export interface SweeperTimers {
  /** Calls `callback` after `ms`, without keeping the process alive for it. */
  after(ms: number, callback: () => void): () => void;
  /** Calls `callback` once pending I/O has run (the next turn of the event loop). */
  soon(callback: () => void): () => void;
}

export const nodeTimers: SweeperTimers = {
  after(ms, callback) {
    const timer = setTimeout(callback, ms);
    timer.unref();
    return () => clearTimeout(timer);
  },
  soon(callback) {
    // Not unref'd: an unref'd immediate does not keep an idle loop turning, and a
    // backlog would then wait for unrelated traffic (test/unit/sweeper-idle.test.ts).
    const immediate = setImmediate(callback);
    return () => clearImmediate(immediate);
  },
};

export interface SweeperOptions {
  /** Most deadlines applied before yielding to the event loop (default DEADLINE_BUDGET). */
  readonly sliceSize?: number;
  /** Defaults to Node's timers. */
  readonly timers?: SweeperTimers;
}

// setTimeout clamps longer delays to 1 ms; re-arming at the limit is harmless.
const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

/**
 * The one scheduler for a pool: a single timer armed for the earliest deadline
 * (never a timer per key). When it fires it applies due deadlines in slices of
 * `sliceSize`, yielding to the event loop between slices so a storm of expiries
 * never blocks calls. Reads do not wait for it: the pool applies passed deadlines
 * itself, so the sweeper only reclaims memory and keeps every call's work bounded.
 */
export class ExpirySweeper {
  private cancelTimer: (() => void) | undefined;
  private cancelSlice: (() => void) | undefined;
  private armedFor = Number.POSITIVE_INFINITY;
  private sweeping = false;
  private stopped = false;
  private readonly sliceSize: number;
  private readonly timers: SweeperTimers;

  constructor(
    private readonly target: Expirable,
    private readonly clock: Clock,
    options: SweeperOptions = {},
  ) {
    this.sliceSize = options.sliceSize ?? DEADLINE_BUDGET;
    this.timers = options.timers ?? nodeTimers;
  }

  /** Call after any change that may have added an earlier deadline. O(1). */
  poke(): void {
    if (this.stopped || this.sweeping) return;
    const next = this.target.nextDeadline();
    if (next < this.armedFor) this.arm(next);
  }

  stop(): void {
    this.stopped = true;
    this.disarm();
    this.cancelSlice?.();
    this.cancelSlice = undefined;
  }

  private arm(deadline: number): void {
    this.disarm();
    if (deadline === Number.POSITIVE_INFINITY) return;
    const delay = Math.min(Math.max(0, deadline - this.clock.now()), MAX_TIMER_DELAY_MS);
    this.armedFor = deadline;
    this.cancelTimer = this.timers.after(delay, () => this.sweep());
  }

  private disarm(): void {
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    this.armedFor = Number.POSITIVE_INFINITY;
  }

  private sweep(): void {
    this.cancelTimer = undefined;
    this.armedFor = Number.POSITIVE_INFINITY;
    if (this.stopped) return;
    this.sweeping = true;
    const applied = this.target.expireDue(this.sliceSize);
    this.sweeping = false;
    if (applied === this.sliceSize && this.target.nextDeadline() <= this.clock.now()) {
      // More is due: yield to pending I/O, then carry on.
      this.armedFor = Number.NEGATIVE_INFINITY; // nothing may re-arm meanwhile
      this.cancelSlice = this.timers.soon(() => {
        this.cancelSlice = undefined;
        this.armedFor = Number.POSITIVE_INFINITY;
        this.sweep();
      });
      return;
    }
    this.poke();
  }
}
