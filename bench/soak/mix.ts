/**
 * The soak's traffic: every RPC of the service, mixed, through the typed client, with
 * `concurrency` calls in flight. Keys live seconds (the service runs with KEY_TTL=2s,
 * BLOCK_TTL=1s), so keys, holds, cooldowns and expiries turn over all the time. Long
 * Watch streams and KeepAliveStream sessions stay open for the whole phase; brief
 * sessions (one renewal, then a half-close) open and close all along, and a brief watch
 * (opened, one event, cancelled) every 100 ms. Every answer is counted by operation and
 * code; a call that never answers stalls the run, which then fails.
 *
 * Why brief watches are paced rather than a share of the traffic: a client that cancels
 * streams fast on one connection trips Node's HTTP/2 rapid-reset guard (nghttp2 since
 * CVE-2023-44487: a burst of 1000 resets, then 33 a second), and the server ends the
 * whole connection with GOAWAY INTERNAL_ERROR, failing every call on it. At 1% of this
 * traffic (about 60 cancels a second) that happened every 20-30 s; ten a second stays
 * under the guard. README (Operations) has the measurements.
 */
import type { StatusObject } from "@grpc/grpc-js";
import { Code, createTokenClient, type KeepAliveSession, KeepAliveStreamRequest, type ServiceError, type TokenClient } from "../../clients";

const seconds = (n: number) => ({ seconds: Math.floor(n), nanos: Math.round((n % 1) * 1e9) });

/** Codes an operation may answer in this traffic: ids expire under it, leases move on. */
export const EXPECTED_CODES: ReadonlySet<string> = new Set(["OK", "NOT_FOUND", "ABORTED"]);

/** One brief watch (a stream the client cancels) every this many ms: see the module comment. */
const BRIEF_WATCH_EVERY_MS = 100;

export interface MixCounts {
  /** Operation → code name → answers. */
  readonly byOp: Record<string, Record<string, number>>;
  /** Events the long watches received, and how each that ended before we closed it ended. */
  watchEvents: number;
  readonly watchEndedEarly: Record<string, number>;
}

interface Held {
  readonly keyId: string;
  readonly lease: number;
}

/** Recent values, at most `size`, oldest overwritten: the key ids and holds the operations pick from. */
class Ring<T> {
  private readonly items: T[] = [];
  private next = 0;

  constructor(private readonly size: number) {}

  add(item: T): void {
    if (this.items.length < this.size) this.items.push(item);
    else this.items[this.next] = item;
    this.next = (this.next + 1) % this.size;
  }

  pick(): T | undefined {
    return this.items[Math.floor(Math.random() * this.items.length)];
  }

  /** Removes and returns a random item (swap-remove). */
  take(): T | undefined {
    if (this.items.length === 0) return undefined;
    const at = Math.floor(Math.random() * this.items.length);
    const item = this.items[at];
    const last = this.items.pop() as T;
    if (at < this.items.length) this.items[at] = last;
    this.next = this.items.length % this.size;
    return item;
  }
}

type Operation = (mix: Mix) => Promise<string>;

/** code name of a failure; rethrows what is not a gRPC status. */
function codeOf(error: unknown): string {
  const code = (error as Partial<ServiceError>).code;
  if (typeof code !== "number") throw error;
  return Code[code] ?? `code ${code}`;
}

const call = async (promise: Promise<unknown>): Promise<string> => {
  try {
    await promise;
    return "OK";
  } catch (error) {
    return codeOf(error);
  }
};

/** The operations and their weights (shares of the traffic). */
const OPERATIONS: readonly (readonly [string, number, Operation])[] = [
  ["create", 8, (m) => m.create({})],
  ["create ttl", 6, (m) => m.create({ ttl: seconds(1 + Math.random() * 2) })],
  ["acquire", 9, (m) => m.acquire({})],
  ["acquire blockTtl", 6, (m) => m.acquire({ blockTtl: seconds(1) })],
  ["acquire wait", 3, (m) => m.acquire({ wait: seconds(0.1) })],
  ["get", 13, (m) => call(m.client.get({ keyId: m.someKey() }))],
  ["keepAlive", 7, (m) => call(m.client.keepAlive({ keyId: m.someKey() }))],
  ["keepAlive lease", 5, (m) => m.withHold((held) => m.client.keepAlive(held), true)],
  ["release lease", 10, (m) => m.withHold((held) => m.client.release(held), false)],
  ["release cooldown", 4, (m) => m.withHold((held) => m.client.release({ ...held, cooldown: seconds(0.5) }), false)],
  ["release", 3, (m) => call(m.client.release({ keyId: m.someKey() }))],
  ["delete", 5, (m) => call(m.client.delete({ keyId: m.someKey() }))],
  ["stats", 3, (m) => call(m.client.stats({}))],
  ["list", 2, (m) => call(m.client.list({ pageSize: 50 }))],
  ["keepAliveStream renew", 8, (m) => m.streamRenew()],
  ["keepAliveStream brief", 1, (m) => m.briefSession()],
];
const TOTAL_WEIGHT = OPERATIONS.reduce((sum, [, weight]) => sum + weight, 0);

function pickOperation(): readonly [string, number, Operation] {
  let roll = Math.random() * TOTAL_WEIGHT;
  for (const operation of OPERATIONS) {
    roll -= operation[1];
    if (roll < 0) return operation;
  }
  return OPERATIONS[0] as readonly [string, number, Operation];
}

export interface MixOptions {
  readonly concurrency: number;
  /** Long Watch streams and KeepAliveStream sessions open for the whole phase. */
  readonly watches: number;
  readonly sessions: number;
}

export class Mix {
  readonly client: TokenClient;
  private readonly keys = new Ring<string>(4096);
  private readonly holds = new Ring<Held>(4096);
  private readonly sessions: KeepAliveSession[];
  private readonly watching = new AbortController();
  private readonly watchers: Promise<void>[];
  private readonly briefWatches: Promise<void>;
  private nextSession = 0;
  readonly counts: MixCounts = { byOp: {}, watchEvents: 0, watchEndedEarly: {} };

  constructor(
    address: string,
    private readonly options: MixOptions,
  ) {
    this.client = createTokenClient(address);
    this.sessions = Array.from({ length: options.sessions }, () => this.client.keepAliveStream());
    this.watchers = Array.from({ length: options.watches }, () => this.watchLong());
    this.briefWatches = this.paceBriefWatches();
  }

  /**
   * Runs operations until `count` have completed or `deadline` (epoch ms) passes; calls
   * `progress` after each. Resolves with the number completed once every call has
   * answered; rejects when calls are waiting and none has answered for `hangMs`.
   */
  async run(count: number, deadline: number, progress: (done: number) => void, hangMs = 30_000): Promise<number> {
    let started = 0;
    let done = 0;
    let lastAnswer = Date.now();
    const worker = async (): Promise<void> => {
      while (started < count && Date.now() < deadline) {
        started += 1;
        const [name, , operation] = pickOperation();
        const code = await operation(this);
        const codes = (this.counts.byOp[name] ??= {});
        codes[code] = (codes[code] ?? 0) + 1;
        done += 1;
        lastAnswer = Date.now();
        progress(done);
      }
    };
    const workers = Promise.all(Array.from({ length: this.options.concurrency }, worker));
    let watchdog: NodeJS.Timeout | undefined;
    const stalled = new Promise<never>((_, reject) => {
      watchdog = setInterval(() => {
        if (started > done && Date.now() - lastAnswer > hangMs) reject(new Error(`${started - done} calls in flight and none answered for ${hangMs} ms`));
      }, 1000);
    });
    try {
      await Promise.race([workers, stalled]);
    } finally {
      clearInterval(watchdog);
    }
    return done;
  }

  /** Ends the long streams (the sessions by half-close, as a well-behaved client does) and the client. */
  async close(): Promise<void> {
    this.watching.abort();
    for (const session of this.sessions) session.end();
    await Promise.all([...this.watchers, this.briefWatches]);
    this.client.close();
  }

  someKey(): string {
    return this.keys.pick() ?? "no-such-key";
  }

  async create(request: Parameters<TokenClient["create"]>[0]): Promise<string> {
    try {
      const { keyId } = await this.client.create(request);
      this.keys.add(keyId);
      return "OK";
    } catch (error) {
      return codeOf(error);
    }
  }

  async acquire(request: Parameters<TokenClient["acquire"]>[0]): Promise<string> {
    try {
      const { keyId, lease } = await this.client.acquire(request);
      this.holds.add({ keyId, lease });
      return "OK";
    } catch (error) {
      return codeOf(error);
    }
  }

  /** Runs `fn` on a hold we were given (kept for later when `keep`); a plain Get when we hold none. */
  async withHold(fn: (held: Held) => Promise<unknown>, keep: boolean): Promise<string> {
    const held = keep ? this.holds.pick() : this.holds.take();
    if (held === undefined) return call(this.client.get({ keyId: this.someKey() }));
    return call(fn(held));
  }

  /**
   * One renewal on one of the long KeepAliveStream sessions; the answer's own code is what
   * counts. A session that fails is replaced; the renewals it failed count as "stream CODE".
   */
  async streamRenew(): Promise<string> {
    const index = this.nextSession++ % this.sessions.length;
    const session = this.sessions[index];
    if (session === undefined) return call(this.client.keepAlive({ keyId: this.someKey() }));
    const held = this.holds.pick();
    try {
      const answer = await session.renew(held ?? { keyId: this.someKey() });
      return Code[answer.code] ?? `code ${answer.code}`;
    } catch (error) {
      // Every renewal waiting on the failed session rejects; the first replaces it.
      if (this.sessions[index] === session) this.sessions[index] = this.client.keepAliveStream();
      return `stream ${codeOf(error)}`;
    }
  }

  /** A brief watch every BRIEF_WATCH_EVERY_MS until close(), counted as the operation "watch brief". */
  private async paceBriefWatches(): Promise<void> {
    while (!this.watching.signal.aborted) {
      const started = Date.now();
      const code = await this.briefWatch();
      const codes = (this.counts.byOp["watch brief"] ??= {});
      codes[code] = (codes[code] ?? 0) + 1;
      const wait = BRIEF_WATCH_EVERY_MS - (Date.now() - started);
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }

  /** A watch opened, read up to one event (or 200 ms), and closed: streams must not leak on the server. */
  private async briefWatch(): Promise<string> {
    const stop = new AbortController();
    const timer = setTimeout(() => stop.abort(), 200);
    try {
      for await (const event of this.client.watch({}, { signal: stop.signal })) {
        void event;
        break;
      }
      return "OK";
    } catch (error) {
      return codeOf(error);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * A KeepAliveStream opened, one renewal, then a half-close, as a well-behaved client
   * ends one: the status must come (the raw call, to see it).
   */
  async briefSession(): Promise<string> {
    const call = this.client.raw.keepAliveStream();
    // Not events.once: it rejects on 'error', which a failed call emits before its status.
    const status = new Promise<StatusObject>((resolve) => call.once("status", resolve));
    call.on("data", () => undefined);
    call.on("error", () => undefined); // the status says it
    call.write(KeepAliveStreamRequest.fromPartial(this.holds.pick() ?? { keyId: this.someKey() }));
    call.end();
    const { code } = await status;
    return Code[code] ?? `code ${code}`;
  }

  /** A watch open until close(); one the server ends is counted by its code and opened again. */
  private async watchLong(): Promise<void> {
    while (!this.watching.signal.aborted) {
      try {
        for await (const event of this.client.watch({}, { signal: this.watching.signal })) {
          void event;
          this.counts.watchEvents += 1;
        }
        if (!this.watching.signal.aborted) this.counts.watchEndedEarly["OK"] = (this.counts.watchEndedEarly["OK"] ?? 0) + 1;
      } catch (error) {
        const code = codeOf(error);
        this.counts.watchEndedEarly[code] = (this.counts.watchEndedEarly[code] ?? 0) + 1;
      }
    }
  }
}
