/**
 * The storm's server process: the compiled app (dist/src/app.js, the code
 * `npm start` runs, same config from the environment, same store, sweeper and
 * transports), plus what the API cannot do fast enough. Over gRPC this machine
 * creates ~10^4 keys/s, so 10^6 Creates would spread their deadlines over
 * ~100 s: no storm. So on `fill N` (stdin) this process creates N keys through
 * the app's own store (RunningApp.store, the object the handlers call) before
 * any load runs, with the app's clock (AppOptions.clock) held still for the
 * fill's ~2 s: every deadline falls on the same millisecond, the worst case the
 * sweeper's slicing is for. The clock is the system clock at every other
 * moment (it jumps forward by the fill's length when released, as a paused VM's
 * would). Nothing is added to src/. It prints JSON lines: the start-up line,
 * `fill`, and `sweep` (from a 5 ms watcher of the pool's size, which also
 * records event-loop stalls).
 */
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { createInterface } from "node:readline";
import { setImmediate as nextTurn } from "node:timers/promises";
import type { RunningApp } from "../../src/app";
import type { Clock } from "../../src/core/clock";
import { ROOT } from "./procs";

type AppModule = typeof import("../../src/app");
type ConfigModule = typeof import("../../src/config");
type LoggerModule = typeof import("../../src/platform/logger");

// The compiled modules, loaded at run time (dist/ need not exist when the bench is type-checked).
const compiled = <T>(path: string): T => require(join(ROOT, "dist", "src", path)) as T;

const print = (message: unknown): void => void process.stdout.write(`${JSON.stringify(message)}\n`);

const WATCH_MS = 5;

/** The system clock, except while held. */
class HeldClock implements Clock {
  held: number | undefined;
  now(): number {
    return this.held ?? Date.now();
  }
}

async function fill(app: RunningApp, clock: HeldClock, sized: { readonly size: number }, count: number): Promise<void> {
  const before = sized.size;
  const started = performance.now();
  clock.held = Date.now();
  let first = Number.NaN;
  let last = Number.NaN;
  for (let made = 0; made < count; ) {
    const chunk = Math.min(50_000, count - made);
    const records = await Promise.all(Array.from({ length: chunk }, () => app.store.create()));
    if (made === 0) first = records[0]?.expiresAt ?? Number.NaN;
    last = records[chunk - 1]?.expiresAt ?? Number.NaN;
    made += chunk;
    await nextTurn(); // let the live key's KeepAlive through
  }
  clock.held = undefined;
  const ms = performance.now() - started;
  print({ fill: { keys: count, ms, firstDeadline: first, lastDeadline: last } });
  watch(sized, before, before + count);
}

/**
 * Reports when the pool starts shrinking and when it is back to `floor`, and every
 * event-loop stall of 2 ms or more (lateness of a 5 ms timer) with its time.
 */
function watch(sized: { readonly size: number }, floor: number, full: number): void {
  let previous = performance.now();
  const stalls: [number, number][] = [];
  let sweepStart: number | undefined;
  const timer = setInterval(() => {
    const now = performance.now();
    const stall = now - previous - WATCH_MS;
    previous = now;
    if (stall >= 2) stalls.push([Date.now(), Math.round(stall * 10) / 10]);
    const size = sized.size;
    if (sweepStart === undefined && size < full) sweepStart = Date.now();
    if (sweepStart !== undefined && size <= floor) {
      clearInterval(timer);
      print({ sweep: { startMs: sweepStart, endMs: Date.now(), swept: full - size, stalls } });
    }
  }, WATCH_MS);
}

async function main(): Promise<void> {
  const { startApp } = compiled<AppModule>("app.js");
  const { loadConfig } = compiled<ConfigModule>("config.js");
  const { createLogger } = compiled<LoggerModule>("platform/logger.js");
  const config = loadConfig(process.env);
  const clock = new HeldClock();
  const app = await startApp({ config, logger: createLogger(config.logLevel), clock });
  const sized = app.store as unknown as { readonly size?: unknown };
  if (typeof sized.size !== "number") throw new Error("the storm needs STORE=memory (it watches the pool's size)");
  const stop = (): void => void app.stop().then(() => process.exit(0));
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
  createInterface({ input: process.stdin }).on("line", (line) => {
    const [command, argument] = line.trim().split(/\s+/);
    if (command === "fill") void fill(app, clock, sized as { readonly size: number }, Number(argument));
  });
  print({ grpc: app.grpcAddress, http: app.httpAddress });
}

main().catch((error: unknown) => {
  process.stderr.write(`storm-server: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
