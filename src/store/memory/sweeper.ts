import type { Clock } from "../../core/clock";

/** What the sweeper drives: a pool's deadline queue. */
export interface Expirable {
  nextDeadline(): number;
  expireDue(budget: number): number;
}

export interface SweeperOptions {
  /** Most deadlines applied before yielding to the event loop. */
  readonly sliceSize: number;
}

// setTimeout clamps longer delays to 1 ms; re-arming at the limit is harmless.
const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

/**
 * The one scheduler for a pool: a single unref'd timer armed for the earliest
 * deadline (never a timer per key). When it fires it applies due deadlines in
 * slices of `sliceSize`, yielding with setImmediate between slices so a storm of
 * expiries never blocks calls. Reads do not wait for it: the pool applies passed
 * deadlines itself, so the sweeper only reclaims memory and keeps work bounded.
 */
export class ExpirySweeper {
  private timer: NodeJS.Timeout | undefined;
  private pendingSlice: NodeJS.Immediate | undefined;
  private armedFor = Number.POSITIVE_INFINITY;
  private sweeping = false;
  private stopped = false;

  constructor(
    private readonly target: Expirable,
    private readonly clock: Clock,
    private readonly options: SweeperOptions = { sliceSize: 4096 },
  ) {}

  /** Call after any change that may have added an earlier deadline. O(1). */
  poke(): void {
    if (this.stopped || this.sweeping) return;
    const next = this.target.nextDeadline();
    if (next < this.armedFor) this.arm(next);
  }

  stop(): void {
    this.stopped = true;
    this.disarm();
    if (this.pendingSlice !== undefined) clearImmediate(this.pendingSlice);
    this.pendingSlice = undefined;
  }

  private arm(deadline: number): void {
    this.disarm();
    if (deadline === Number.POSITIVE_INFINITY) return;
    const delay = Math.min(Math.max(0, deadline - this.clock.now()), MAX_TIMER_DELAY_MS);
    this.armedFor = deadline;
    this.timer = setTimeout(() => this.sweep(), delay);
    this.timer.unref();
  }

  private disarm(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.armedFor = Number.POSITIVE_INFINITY;
  }

  private sweep(): void {
    this.timer = undefined;
    this.armedFor = Number.POSITIVE_INFINITY;
    if (this.stopped) return;
    this.sweeping = true;
    const applied = this.target.expireDue(this.options.sliceSize);
    this.sweeping = false;
    if (applied === this.options.sliceSize && this.target.nextDeadline() <= this.clock.now()) {
      // More is due: yield to pending I/O, then carry on. Not unref'd: an unref'd
      // immediate does not keep an idle loop turning, and the backlog would wait for traffic.
      this.armedFor = Number.NEGATIVE_INFINITY; // nothing may re-arm meanwhile
      this.pendingSlice = setImmediate(() => {
        this.pendingSlice = undefined;
        this.armedFor = Number.POSITIVE_INFINITY;
        this.sweep();
      });
      return;
    }
    this.poke();
  }
}
