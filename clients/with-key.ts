/**
 * withKey: hold a key from the pool for exactly as long as a function runs.
 *
 *   const answer = await withKey(async ({ keyId, lease, signal }) => work(keyId, signal), { client });
 *
 * Acquires (waiting for a key), renews the key and its hold with the lease over one
 * KeepAliveStream while `fn` runs, releases with the lease however `fn` ends, and aborts
 * `fn`'s signal the moment the lease is lost. README: "Holding a key for the length of a
 * function: withKey" has the decisions; this file says why at each of them.
 *
 * The client is an option, not a receiver: the contract names the helper `withKey(fn, options)`,
 * and one long-lived client (one HTTP/2 connection) serves every withKey call, so the helper
 * must not open a channel of its own per call. This module imports no value from ./index
 * (index re-exports it, and the architecture check forbids circles): it names the three
 * methods it needs as WithKeyClient, which the typed client `createTokenClient` satisfies.
 */
import { type ServiceError, status } from "@grpc/grpc-js";
import type { CallSettings, StreamSettings } from "./call-settings";
import type { Duration } from "./generated/google/protobuf/duration";
import type { AcquireRequest, AcquireResponse, KeepAliveStreamResponse, ReleaseRequest, ReleaseResponse } from "./generated/tokens/v1/tokens";
import type { KeepAliveSession } from "./streams";

/** What withKey calls on the service: the typed client from `createTokenClient` fits as it is. */
export interface WithKeyClient {
  acquire(request: Partial<AcquireRequest>, settings?: CallSettings): Promise<AcquireResponse>;
  release(request: Partial<ReleaseRequest>, settings?: CallSettings): Promise<ReleaseResponse>;
  keepAliveStream(settings?: StreamSettings): KeepAliveSession;
}

/** What `fn` is handed: the key, the lease that fences it, and a signal that aborts when the hold ends early. */
export interface HeldKey {
  readonly keyId: string;
  /** The fencing token (AcquireResponse.lease): pass it to systems that can refuse stale holders. */
  readonly lease: number;
  /** Aborted when the lease is lost (reason: a LeaseLostError) or `options.signal` aborts (its reason). */
  readonly signal: AbortSignal;
}

export interface WithKeyOptions {
  /** The service: usually `createTokenClient(address)`, shared by every withKey call. */
  readonly client: WithKeyClient;
  /** How long to wait for a key when none is available (default 30 s; the server clamps it to MAX_ACQUIRE_WAIT); 0: no wait. */
  readonly waitMs?: number;
  /** The hold to ask for (default: the server's BLOCK_TTL; clamped by it to [1 s, MAX_BLOCK_TTL]). */
  readonly blockTtlMs?: number;
  /** How often to renew (default: a third of the granted hold, at least 100 ms). Keep it well under the hold. */
  readonly renewEveryMs?: number;
  /** Release into a cooldown of this length (e.g. an upstream's Retry-After), in every outcome. */
  readonly cooldownMs?: number;
  /** Aborts from outside: `fn`'s signal aborts with the same reason, withKey waits for `fn`, releases, and rejects with it. */
  readonly signal?: AbortSignal;
}

/**
 * The hold ended before `fn` did: `fn`'s signal was aborted with this error, and withKey
 * rejects with it (the same instance) even if `fn` returned a value afterwards.
 * `code` says why: NOT_FOUND (the key was deleted or expired), ABORTED (the lease is no
 * longer the key's: the hold ran out and the key moved on), DEADLINE_EXCEEDED (no renewal
 * was answered before the hold ran out, e.g. the service was unreachable), or the stream's
 * own code when renewing cannot work at all (UNAUTHENTICATED, PERMISSION_DENIED, UNIMPLEMENTED).
 */
export class LeaseLostError extends Error {
  override readonly name = "LeaseLostError";
  constructor(
    /** A gRPC status code (`Code` in ./index). */
    readonly code: status,
    message: string,
    readonly keyId: string,
    readonly lease: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * `fn` returned, but giving the key back failed for a reason other than NOT_FOUND or
 * ABORTED (e.g. UNAVAILABLE, PERMISSION_DENIED). The key stays leased until its releaseAt
 * (at most one hold: renewals have stopped), so nothing leaks for long, but a cooldown
 * asked for was not applied. `result` is what `fn` returned, so the work is not lost.
 */
export class KeyReleaseError extends Error {
  override readonly name = "KeyReleaseError";
  readonly code: status;
  /** The release's own error. */
  override readonly cause: ServiceError;
  constructor(
    cause: ServiceError,
    readonly result: unknown,
    readonly keyId: string,
    readonly lease: number,
  ) {
    super(`the key was not released: ${cause.message}`, { cause });
    this.cause = cause;
    this.code = cause.code;
  }
}

const DEFAULT_WAIT_MS = 30_000;
const MIN_RENEW_EVERY_MS = 100;
/** Beyond `wait`: the acquire's deadline leaves the server time to answer NOT_FOUND itself. */
const ACQUIRE_DEADLINE_SLACK_MS = 5_000;
/** Release is one small call; a dead service must not hold withKey's caller for ever. */
const RELEASE_TIMEOUT_MS = 5_000;
/** After a failed renewal, try again soon (on a fresh stream), but never in a tight loop. */
const MAX_RETRY_MS = 250;
/** An unanswered renewal is given this long (or one interval, if longer) before its stream is thrown away. */
const MIN_ANSWER_MS = 1_000;
/** After ending the stream politely, cancel it if the server has not closed it by then (a dead connection). */
const END_GRACE_MS = 1_000;

/** Renewal answers that mean the lease is gone for good. */
const LOST_CODES: ReadonlySet<number> = new Set([status.NOT_FOUND, status.ABORTED]);
/** Stream failures that no retry can cure: waiting for the hold to run out would only delay the news. */
const HOPELESS_CODES: ReadonlySet<number> = new Set([status.UNAUTHENTICATED, status.PERMISSION_DENIED, status.UNIMPLEMENTED]);
/** Release failures that hurt nobody: the key is gone, or our lease is no longer current (fencing kept the next holder's key). */
const HARMLESS_RELEASE_CODES: ReadonlySet<number> = new Set([status.NOT_FOUND, status.ABORTED]);

/**
 * Runs `fn` while holding a key: acquire (waiting up to `waitMs`), renew with the lease,
 * release with the lease. Resolves with `fn`'s value; rejects with `fn`'s error if it threw,
 * with `options.signal`'s reason if that aborted, with a LeaseLostError if the hold ended
 * early, with the acquire's ServiceError (`fn` never called) if no key came, or with a
 * KeyReleaseError if only the release failed.
 */
export async function withKey<T>(fn: (held: HeldKey) => Promise<T> | T, options: WithKeyOptions): Promise<T> {
  const { client, signal: outside } = options;
  checkOptions(options);
  outside?.throwIfAborted();
  const waitMs = options.waitMs ?? DEFAULT_WAIT_MS;
  const acquired = await acquireUnlessAborted(
    client,
    { wait: durationOf(waitMs), ...(options.blockTtlMs === undefined ? {} : { blockTtl: durationOf(options.blockTtlMs) }) },
    waitMs + ACQUIRE_DEADLINE_SLACK_MS,
    outside,
  );
  const receivedAt = Date.now();
  const { keyId, lease } = acquired;
  const release = (): Promise<ServiceError | undefined> => releaseKey(client, keyId, lease, options.cooldownMs);

  // The hold we were granted, on our clock: releaseAt is the server's instant, so this
  // assumes the clocks agree to well within a hold. Measured at receipt, it is never longer
  // than the real hold (the answer's transit is subtracted), so every local deadline below
  // falls at or before the server's.
  const estimated = (acquired.releaseAt?.getTime() ?? Number.NaN) - receivedAt;
  const holdMs = estimated > 0 ? estimated : (options.blockTtlMs ?? 1_000);
  const renewEveryMs = options.renewEveryMs ?? Math.max(MIN_RENEW_EVERY_MS, Math.floor(holdMs / 3));

  const controller = new AbortController();
  const onOutsideAbort = (): void => controller.abort(outside?.reason);
  outside?.addEventListener("abort", onOutsideAbort, { once: true });
  if (outside?.aborted) {
    // Aborted between the acquire's answer and now: fn never starts.
    outside.removeEventListener("abort", onOutsideAbort);
    await release();
    throw outside.reason;
  }
  const keeper = new HoldKeeper(client, keyId, lease, holdMs, renewEveryMs, (lost) => controller.abort(lost));
  keeper.start(receivedAt + holdMs);

  let outcome: { readonly returned: true; readonly value: T } | { readonly returned: false; readonly error: unknown };
  try {
    outcome = { returned: true, value: await fn({ keyId, lease, signal: controller.signal }) };
  } catch (error) {
    outcome = { returned: false, error };
  } finally {
    // fn has settled: the key is no longer in use, so stop renewing before giving it back.
    keeper.stop();
    outside?.removeEventListener("abort", onOutsideAbort);
  }

  // Released with the lease in every outcome, lease lost included: the server refuses a
  // lease that is not current (ABORTED), so this can never free the next holder's key, and
  // if the loss was only ours to fear (no renewal answered in time, yet the server kept the
  // hold), it gives the key back now instead of at releaseAt.
  const releaseFailure = await release();
  // Lost lease or outside abort, whichever came first, wins over what fn did: work done
  // after the hold ended was done without it, and an aborted caller asked not to wait for a value.
  if (controller.signal.aborted) throw controller.signal.reason;
  if (!outcome.returned) throw outcome.error; // fn's own error, as thrown (a release failure then is secondary)
  if (releaseFailure !== undefined && !HARMLESS_RELEASE_CODES.has(releaseFailure.code)) {
    throw new KeyReleaseError(releaseFailure, outcome.value, keyId, lease);
  }
  return outcome.value;
}

/** A nonsensical duration is the caller's bug: said before anything is acquired (a zero interval would spin). */
function checkOptions(options: WithKeyOptions): void {
  const check = (name: string, value: number | undefined, positive: boolean): void => {
    if (value === undefined) return;
    if (!Number.isFinite(value) || value < 0 || (positive && value === 0)) {
      throw new RangeError(`withKey: ${name} must be a finite number of milliseconds${positive ? " above 0" : ", 0 or more"} (got ${value})`);
    }
  };
  check("waitMs", options.waitMs, false);
  check("blockTtlMs", options.blockTtlMs, true);
  check("renewEveryMs", options.renewEveryMs, true);
  check("cooldownMs", options.cooldownMs, false);
}

/**
 * Acquire, but let `signal` end the wait. The promise client cannot cancel a unary call,
 * so an abort rejects at once, and a key the call still gets afterwards is handed straight
 * back with its lease: no key is left leased to a caller that gave up.
 */
function acquireUnlessAborted(client: WithKeyClient, request: Partial<AcquireRequest>, timeoutMs: number, signal: AbortSignal | undefined): Promise<AcquireResponse> {
  const call = client.acquire(request, { timeoutMs });
  if (signal === undefined) return call;
  return new Promise<AcquireResponse>((resolve, reject) => {
    const onAbort = (): void => {
      reject(signal.reason);
      call.then(
        (late) => void releaseKey(client, late.keyId, late.lease, undefined),
        () => undefined, // no key came: nothing to give back
      );
    };
    signal.addEventListener("abort", onAbort, { once: true });
    call.then(
      (held) => {
        signal.removeEventListener("abort", onAbort);
        resolve(held);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}

/** Release with the lease (and the cooldown, if asked); resolves with the failure instead of throwing it. */
async function releaseKey(client: WithKeyClient, keyId: string, lease: number, cooldownMs: number | undefined): Promise<ServiceError | undefined> {
  try {
    await client.release({ keyId, lease, ...(cooldownMs === undefined ? {} : { cooldown: durationOf(cooldownMs) }) }, { timeoutMs: RELEASE_TIMEOUT_MS });
    return undefined;
  } catch (error) {
    return error as ServiceError;
  }
}

/**
 * Renews one key's hold on one KeepAliveStream, every `everyMs`, until stopped or lost.
 *
 * Two clocks decide loss. An answer of NOT_FOUND or ABORTED is the server saying the lease
 * is gone: lost at once. Anything else that goes wrong (the stream fails, e.g. a restarting
 * server; an item answered UNAVAILABLE, e.g. Redis down; no answer) may pass: the next try
 * runs on a fresh stream soon after. But the hold is only known to last until the last
 * answered renewal's send time plus the hold, so when that local deadline passes with no
 * renewal answered, the lease is treated as lost (DEADLINE_EXCEEDED): after it another
 * caller may hold the key, and fn must not go on believing it is alone.
 */
class HoldKeeper {
  private session: KeepAliveSession | undefined;
  private renewTimer: NodeJS.Timeout | undefined;
  private deadlineTimer: NodeJS.Timeout | undefined;
  private inFlight = false;
  private done = false;
  private lastFailure: { readonly code: status; readonly message: string } | undefined;

  constructor(
    private readonly client: WithKeyClient,
    private readonly keyId: string,
    private readonly lease: number,
    private readonly holdMs: number,
    private readonly everyMs: number,
    private readonly onLost: (error: LeaseLostError) => void,
  ) {}

  /** `holdEndsAt`: the acquired hold's end on our clock. */
  start(holdEndsAt: number): void {
    this.armDeadline(holdEndsAt);
    this.scheduleRenewal(this.everyMs);
  }

  /** fn has settled: no more renewals; the stream is half-closed (cancelled if a renewal is still out). */
  stop(): void {
    if (this.done) return;
    this.done = true;
    this.clearTimers();
    this.closeSession();
  }

  private async renew(): Promise<void> {
    this.renewTimer = undefined;
    if (this.done) return;
    const sentAt = Date.now();
    const session = (this.session ??= this.client.keepAliveStream());
    let answer: KeepAliveStreamResponse;
    this.inFlight = true;
    try {
      answer = await answeredWithin(session.renew({ keyId: this.keyId, lease: this.lease }), Math.max(this.everyMs, MIN_ANSWER_MS), () => session.cancel());
    } catch (error) {
      this.inFlight = false;
      if (this.done) return; // our own cancel, at stop or loss
      // The stream is broken (or hung): drop it; the next try opens a fresh one.
      if (this.session === session) this.session = undefined;
      session.cancel();
      const failure = error as Partial<ServiceError>;
      this.lastFailure = { code: failure.code ?? status.UNKNOWN, message: failure.message ?? String(error) };
      if (HOPELESS_CODES.has(this.lastFailure.code)) {
        this.lose(this.lastFailure.code, `renewing the hold cannot work: ${this.lastFailure.message}`, error);
        return;
      }
      this.scheduleRenewal(Math.min(this.everyMs, MAX_RETRY_MS));
      return;
    }
    this.inFlight = false;
    if (this.done) return;
    if (answer.code === status.OK) {
      this.lastFailure = undefined;
      this.armDeadline(sentAt + this.holdMs);
      this.scheduleRenewal(Math.max(0, sentAt + this.everyMs - Date.now()));
      return;
    }
    if (LOST_CODES.has(answer.code)) {
      const why = answer.code === status.NOT_FOUND ? "the key is gone (deleted or expired)" : "the lease is no longer the key's (the hold ran out and the key moved on)";
      this.lose(answer.code, `${why}: ${answer.message}`);
      return;
    }
    // The service could not renew this time (e.g. its store is down): the hold may well be intact.
    this.lastFailure = { code: answer.code, message: answer.message };
    this.scheduleRenewal(Math.min(this.everyMs, MAX_RETRY_MS));
  }

  private scheduleRenewal(ms: number): void {
    this.renewTimer = setTimeout(() => void this.renew(), ms);
  }

  private armDeadline(at: number): void {
    if (this.deadlineTimer !== undefined) clearTimeout(this.deadlineTimer);
    this.deadlineTimer = setTimeout(() => {
      this.deadlineTimer = undefined;
      const last = this.lastFailure === undefined ? "no answer" : `last failure: ${status[this.lastFailure.code]} ${this.lastFailure.message}`;
      this.lose(status.DEADLINE_EXCEEDED, `the hold ran out before a renewal was answered (${last})`);
    }, Math.max(0, at - Date.now()));
  }

  private lose(code: status, message: string, cause?: unknown): void {
    if (this.done) return;
    this.done = true;
    this.clearTimers();
    this.closeSession();
    this.onLost(new LeaseLostError(code, `lease ${this.lease} on key ${this.keyId} lost: ${message}`, this.keyId, this.lease, cause === undefined ? {} : { cause }));
  }

  private clearTimers(): void {
    if (this.renewTimer !== undefined) clearTimeout(this.renewTimer);
    if (this.deadlineTimer !== undefined) clearTimeout(this.deadlineTimer);
    this.renewTimer = undefined;
    this.deadlineTimer = undefined;
  }

  private closeSession(): void {
    const session = this.session;
    this.session = undefined;
    if (session === undefined) return;
    if (this.inFlight) {
      session.cancel(); // its answer no longer matters
      return;
    }
    // Half-close, so the server ends the call with OK rather than logging a cancellation;
    // cancel later if the connection is dead and it never closes (a no-op once closed).
    // Unref'd: this timer must not keep a finished process alive.
    session.end();
    setTimeout(() => session.cancel(), END_GRACE_MS).unref();
  }
}

/** `promise`, or a DEADLINE_EXCEEDED rejection after `ms` (calling `onTimeout` first); the timer never outlives the answer. */
function answeredWithin<R>(promise: Promise<R>, ms: number, onTimeout: () => void): Promise<R> {
  return new Promise<R>((resolve, reject) => {
    const timer = setTimeout(() => {
      onTimeout();
      reject(Object.assign(new Error(`no renewal answer within ${ms} ms`), { code: status.DEADLINE_EXCEEDED }));
    }, ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

function durationOf(ms: number): Duration {
  const whole = Math.max(0, Math.ceil(ms)); // whole ms, as the server keeps them; never shorter than asked
  return { seconds: Math.floor(whole / 1000), nanos: (whole % 1000) * 1_000_000 };
}
