/**
 * The storms' server process: the compiled app (dist/src/app.js, the code
 * `npm start` runs, same config from the environment, same store, sweeper and
 * transports), plus what the API cannot do fast enough. Over gRPC this machine
 * creates ~10^4 keys/s, so 10^6 Creates would spread their deadlines over
 * ~100 s: no storm. So on the memory store, `fill` (stdin) makes the storm's
 * keys through the app's own store (RunningApp.store, the object the handlers
 * call) before the load runs, with the app's clock (AppOptions.clock) held
 * still: every deadline falls on the same millisecond, the worst case. The clock
 * is the system clock at every other moment (it jumps forward by the fill's
 * length when released, as a paused VM's would). On Redis the bench writes the
 * pool itself (storm-redis.ts) and this process only serves. Nothing is added to src/.
 *
 * Commands (stdin), answered with JSON lines on stdout:
 *   fill expiry N          (memory) N keys created with the clock held: all expire KEY_TTL later
 *   fill release N SPARE   (memory) tops the available keys up to N + SPARE, then acquires N with
 *                          the clock held: all released BLOCK_TTL later
 *   fill capacity N        (memory) waits until the pool holds only the live key, then creates N with
 *                          the clock held (MAX_KEYS = N + 1: full): all expire KEY_TTL later
 *                          → {"fill": {kind, keys, ms, instant, spreadMs}}
 *   counts                 → {"counts": {total, available, blocked}} (either store)
 *   stalls                 → {"stalls": [[epoch ms, ms], …]}: event-loop stalls since the last ask
 * and, unasked, {"backlog": {startMs, endMs, slices}} on memory once no deadline passed at the
 * fill's instant is left (see SweeperWatch).
 */
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { createInterface } from "node:readline";
import { setImmediate as nextTurn, setTimeout as sleep } from "node:timers/promises";
import type { RunningApp } from "../../src/app";
import type { Clock } from "../../src/core/clock";
import type { KeyRecord } from "../../src/core/key-pool";
import type { SweeperTimers } from "../../src/store/memory/sweeper";
import type { KeyStore } from "../../src/store/port";
import { ROOT } from "./procs";

type AppModule = typeof import("../../src/app");
type ConfigModule = typeof import("../../src/config");
type LoggerModule = typeof import("../../src/platform/logger");
type MemoryStoreModule = typeof import("../../src/store/memory/memory-store");
type SweeperModule = typeof import("../../src/store/memory/sweeper");

// The compiled modules, loaded at run time (dist/ need not exist when the bench is type-checked).
const compiled = <T>(path: string): T => require(join(ROOT, "dist", "src", path)) as T;

const print = (message: unknown): void => void process.stdout.write(`${JSON.stringify(message)}\n`);

/** The event-loop watcher's period; a tick this much late or more is a stall. */
const WATCH_MS = 5;
const STALL_MS = 2;
/** Fill in chunks, yielding between them, so the live key's KeepAlive still gets through. */
const CHUNK = 50_000;

/** The system clock, except while held. */
class HeldClock implements Clock {
  held: number | undefined;
  now(): number {
    return this.held ?? Date.now();
  }
}

/**
 * Node's timers for the sweeper, watched. The sweeper asks for `soon` between the slices
 * of a backlog larger than one slice, and for `after` only when it arms for a deadline
 * earlier than the one it waits for: from the instant on, that happens once, when a sweep
 * found no passed deadline left (Acquire and Create may have applied part or all of the
 * backlog meanwhile) and it waits for the next, future one (a delay ≥ 1 ms; a timer that
 * fired a millisecond early re-arms for the instant itself with a delay of 0 or before it).
 * So that call is the moment the backlog is gone, give or take the sweeper timer's lateness.
 */
class SweeperWatch {
  private instant = Number.POSITIVE_INFINITY;
  private firstSlice: number | undefined;
  private slices = 0;
  readonly timers: SweeperTimers;

  constructor(node: SweeperTimers) {
    this.timers = {
      after: (ms, callback) => {
        if (ms > 0) this.armed();
        return node.after(ms, callback);
      },
      soon: (callback) => {
        if (Date.now() >= this.instant) {
          this.firstSlice ??= Date.now();
          this.slices += 1;
        }
        return node.soon(callback);
      },
    };
  }

  /** Reports when the backlog of deadlines passed at `instant` (ms since the epoch) is gone. */
  expect(instant: number): void {
    this.instant = instant;
    this.firstSlice = undefined;
    this.slices = 0;
  }

  private armed(): void {
    const now = Date.now();
    if (now < this.instant) return;
    // Slices: the sweeper's runs of expireDue, the last one included (it found the backlog gone).
    print({ backlog: { startMs: this.firstSlice ?? now, endMs: now, slices: this.slices + 1 } });
    this.instant = Number.POSITIVE_INFINITY;
  }
}

/** Records every event-loop stall of STALL_MS or more (a WATCH_MS timer's lateness) with its time. */
function watchStalls(): () => [number, number][] {
  let stalls: [number, number][] = [];
  let previous = performance.now();
  setInterval(() => {
    const now = performance.now();
    const stall = now - previous - WATCH_MS;
    previous = now;
    if (stall >= STALL_MS) stalls.push([Date.now(), Math.round(stall * 10) / 10]);
  }, WATCH_MS).unref();
  return () => {
    const seen = stalls;
    stalls = [];
    return seen;
  };
}

/** `count` calls of `make`, a chunk at a time; the records of the first and last. */
async function inChunks(count: number, make: () => Promise<KeyRecord>): Promise<{ first: KeyRecord | undefined; last: KeyRecord | undefined }> {
  let first: KeyRecord | undefined;
  let last: KeyRecord | undefined;
  for (let made = 0; made < count; ) {
    const chunk = Math.min(CHUNK, count - made);
    const records = await Promise.all(Array.from({ length: chunk }, make));
    first ??= records[0];
    last = records[chunk - 1] ?? last;
    made += chunk;
    await nextTurn();
  }
  return { first, last };
}

async function fill(store: KeyStore, clock: HeldClock, watch: SweeperWatch, args: readonly string[]): Promise<void> {
  const [kind, keysText, spareText] = args;
  const keys = Number(keysText);
  const started = performance.now();
  if (kind === "release") {
    const { available } = await store.counts();
    await inChunks(Math.max(0, keys + Number(spareText ?? 0) - available), () => store.create());
  }
  if (kind === "capacity") {
    // The last run's Creates still hold room: wait for them to expire (the sweeper removes them).
    while ((await store.counts()).total > 1) await sleep(20);
  }
  clock.held = Date.now();
  const { first, last } = await inChunks(keys, () => (kind === "release" ? store.acquire() : store.create()));
  clock.held = undefined;
  // The fill made millions of promises and records in seconds, garbage a real pool never makes
  // at once: collect it now, so the storm's windows measure the storm and not this fill.
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  const deadline = (record: KeyRecord | undefined): number => (kind === "release" ? record?.releaseAt : record?.expiresAt) ?? Number.NaN;
  const instant = deadline(first);
  watch.expect(instant);
  print({ fill: { kind, keys, ms: performance.now() - started, instant, spreadMs: deadline(last) - instant } });
}

async function main(): Promise<void> {
  const { startApp } = compiled<AppModule>("app.js");
  const { loadConfig } = compiled<ConfigModule>("config.js");
  const { createLogger } = compiled<LoggerModule>("platform/logger.js");
  const config = loadConfig(process.env);
  const clock = new HeldClock();
  const watch = new SweeperWatch(compiled<SweeperModule>("store/memory/sweeper.js").nodeTimers);
  // The memory store as createStore makes it, but with the sweeper's timers watched.
  const store =
    config.store === "memory"
      ? new (compiled<MemoryStoreModule>("store/memory/memory-store.js").MemoryStore)(
          clock,
          { keyTtlMs: config.keyTtlMs, blockTtlMs: config.blockTtlMs, maxKeys: config.maxKeys },
          {},
          { timers: watch.timers },
        )
      : undefined;
  const app: RunningApp = await startApp({ config, logger: createLogger(config.logLevel), clock, ...(store === undefined ? {} : { store }) });
  const stalls = watchStalls();
  // Keys created from the storm's instant on (the capacity storm's check): counted as the
  // store reports them, not read back from the pool, whose count the sweeper changes too.
  let createdSince = { instant: Number.POSITIVE_INFINITY, count: 0 };
  app.store.onKeyEvent((event) => {
    if (event.type === "CREATED" && event.at >= createdSince.instant) createdSince.count += 1;
  });
  const stop = (): void => void app.stop().then(() => process.exit(0));
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
  createInterface({ input: process.stdin }).on("line", (line) => {
    const [command, ...args] = line.trim().split(/\s+/);
    const fail = (error: unknown): void => print({ error: `${command}: ${error instanceof Error ? error.message : String(error)}` });
    if (command === "fill" && store !== undefined) void fill(app.store, clock, watch, args).catch(fail);
    else if (command === "counts") void app.store.counts().then((counts) => print({ counts }), fail);
    else if (command === "stalls") print({ stalls: stalls() });
    else if (command === "count-created") createdSince = { instant: Number(args[0]), count: 0 };
    else if (command === "created") print({ created: createdSince.count });
    else fail(new Error(`unknown command on ${config.store}`));
  });
  print({ grpc: app.grpcAddress, http: app.httpAddress });
}

main().catch((error: unknown) => {
  process.stderr.write(`storm-server: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
