import type { Clock } from "../core/clock";
import { DomainError, isDomainError } from "../core/errors";
import type { AcquireOptions, KeyRecord, KeyStore } from "../store/port";
import type { CallRemote } from "./pipeline";
import { CallError, Code } from "./status";

interface Waiter {
  readonly options: AcquireOptions;
  readonly signal: AbortSignal;
  readonly resolve: (record: KeyRecord) => void;
  readonly reject: (error: unknown) => void;
  /** Set once the waiter has its answer, or is gone (cancelled, timed out). */
  done: boolean;
  /** Cancels the waiter's timeout. */
  cancelTimer: () => void;
  /** Neighbours in the queue: a waiter that leaves unlinks itself in O(1), wherever it stands. */
  previous: Waiter | undefined;
  next: Waiter | undefined;
}

/** First come, first served, with O(1) removal from anywhere (an array's splice and shift are O(n)). */
class WaitQueue {
  private head: Waiter | undefined;
  private tail: Waiter | undefined;
  size = 0;

  first(): Waiter | undefined {
    return this.head;
  }

  push(waiter: Waiter): void {
    waiter.previous = this.tail;
    waiter.next = undefined;
    if (this.tail === undefined) this.head = waiter;
    else this.tail.next = waiter;
    this.tail = waiter;
    this.size += 1;
  }

  /** Takes the waiter out; one not in the queue (already taken) is left alone. */
  remove(waiter: Waiter): void {
    if (waiter.previous === undefined && this.head !== waiter) return;
    if (waiter.previous === undefined) this.head = waiter.next;
    else waiter.previous.next = waiter.next;
    if (waiter.next === undefined) this.tail = waiter.previous;
    else waiter.next.previous = waiter.previous;
    waiter.previous = undefined;
    waiter.next = undefined;
    this.size -= 1;
  }
}

/**
 * Acquires that wait for a key, first come, first served on this instance. A waiter
 * queues only when no key is available; whenever the store says a key may have
 * become available (this instance's calls, any instance's on Redis, or the end of a
 * lease or cooldown, for which one timer is armed at the earliest end), the queue is
 * served from its head. A waiter that is cancelled (the caller cancelled or
 * disconnected) or times out leaves the queue; a key acquired for a caller that is
 * gone by then is released at once, with its lease: no key is left to a caller
 * that is not there.
 */
export class Waiters {
  private readonly queue = new WaitQueue();
  private serving = false;
  private again = false;
  private cancelReleaseTimer: () => void = noop;

  constructor(
    private readonly store: KeyStore,
    private readonly clock: Clock,
    private readonly timers: WaiterTimers = REAL_TIMERS,
  ) {
    store.onKeyFreed(() => this.serve());
  }

  /** Waiting callers now (for tests and metrics). */
  get size(): number {
    return this.queue.size;
  }

  /**
   * Acquires a key, waiting up to `waitMs` when none is available (0: not at all).
   * Rejects with no_available_key on timeout, CANCELLED when the caller leaves first.
   */
  async acquire(options: AcquireOptions, waitMs: number, caller: CallRemote): Promise<KeyRecord> {
    // Newcomers that wait join the queue behind those already waiting: first come, first served.
    if (waitMs <= 0 || this.queue.size === 0) {
      try {
        const record = await this.store.acquire(options);
        if (!caller.cancelled) return record;
        await this.giveBack(record); // acquired for a caller gone meanwhile: straight back
        throw cancelled();
      } catch (error) {
        if (waitMs <= 0 || !isDomainError(error) || error.kind !== "no_available_key") throw error;
      }
    }
    if (caller.cancelled) throw cancelled();
    // Only a caller that waits needs a signal (one made on demand: most Acquires never wait).
    const { signal } = caller;
    return new Promise<KeyRecord>((resolve, reject) => {
      const waiter: Waiter = { options, signal, resolve, reject, done: false, cancelTimer: noop, previous: undefined, next: undefined };
      const leave = (error: unknown): void => {
        if (waiter.done) return;
        waiter.done = true;
        waiter.cancelTimer();
        this.queue.remove(waiter);
        if (this.queue.size === 0) this.armReleaseTimer(); // nobody left to wake: disarms it
        reject(error);
      };
      waiter.cancelTimer = this.timers.after(waitMs, () => leave(new DomainError("no_available_key", "no key became available in time")));
      signal.addEventListener("abort", () => leave(cancelled()), { once: true });
      this.queue.push(waiter);
      this.armReleaseTimer();
    });
  }

  /** Serves the queue from its head while keys can be acquired; one pass at a time. */
  private serve(): void {
    if (this.serving) {
      this.again = true;
      return;
    }
    if (this.queue.size === 0) return;
    this.serving = true;
    void this.serveQueue().finally(() => {
      this.serving = false;
      if (this.again) {
        this.again = false;
        this.serve();
      } else {
        this.armReleaseTimer();
      }
    });
  }

  private async serveQueue(): Promise<void> {
    for (;;) {
      const head = this.queue.first();
      if (head === undefined) return;
      let record: KeyRecord;
      try {
        record = await this.store.acquire(head.options);
      } catch (error) {
        if (isDomainError(error) && error.kind === "no_available_key") return;
        // Anything else (the store is down): this waiter gets it; the others wait on.
        this.queue.remove(head);
        head.done = true;
        head.cancelTimer();
        head.reject(error);
        continue;
      }
      this.queue.remove(head);
      if (head.done) {
        // Gone while the key was being acquired for it: give the key straight back.
        await this.giveBack(record);
        continue;
      }
      head.done = true;
      head.cancelTimer();
      head.resolve(record);
    }
  }

  private async giveBack(record: KeyRecord): Promise<void> {
    await this.store.release(record.keyId, record.lease === null ? {} : { lease: record.lease }).catch(() => undefined);
  }

  /**
   * With callers waiting, one timer at the earliest end of a lease or cooldown: that
   * key frees itself then, and on Redis no instance may be there to say so at once.
   */
  private armReleaseTimer(): void {
    this.cancelReleaseTimer();
    this.cancelReleaseTimer = noop;
    if (this.queue.size === 0) return;
    void this.store.nextRelease().then(
      (at) => {
        if (this.queue.size === 0 || !Number.isFinite(at)) return;
        this.cancelReleaseTimer();
        this.cancelReleaseTimer = this.timers.after(Math.max(0, at - this.clock.now()), () => this.serve());
      },
      () => undefined,
    );
  }
}

/** The timers waiting uses: injected so tests can run it on fake time. `after` answers a cancel. */
export interface WaiterTimers {
  after(ms: number, callback: () => void): () => void;
}

/**
 * Node's timers, unref'd: a waiter's own call keeps the process alive while it waits, and
 * the release timer must never be what does (it may be armed for a whole hold).
 */
const REAL_TIMERS: WaiterTimers = {
  after(ms, callback) {
    const timer = setTimeout(callback, Math.min(ms, 2 ** 31 - 1)).unref();
    return () => clearTimeout(timer);
  },
};

const noop = (): void => undefined;

function cancelled(): CallError {
  return new CallError(Code.CANCELLED, "the caller cancelled the call");
}
