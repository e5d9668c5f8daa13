/**
 * The service's memory and handles as its own GET /metrics reports them (prom-client's
 * default metrics), optionally right after a full GC (the soak preloads a SIGUSR2 hook,
 * gc-preload.ts, into the service process).
 */
import type { JsonProcess } from "../load/procs";
import { scrape } from "../scrape";
import { type Sample, sampleValue } from "../../test/support/prom-text";

export interface Snapshot {
  readonly heapUsed: number;
  readonly heapTotal: number;
  readonly rss: number;
  readonly external: number;
  /** libuv handles (sockets, servers, timers' handles…), and every resource the loop waits on. */
  readonly handles: number;
  readonly resources: number;
  readonly openFds: number;
  /** Keys in the pool, all states. */
  readonly keys: number;
}

function snapshotOf(samples: readonly Sample[]): Snapshot {
  const value = (name: string): number => sampleValue(samples, name);
  return {
    heapUsed: value("nodejs_heap_size_used_bytes"),
    heapTotal: value("nodejs_heap_size_total_bytes"),
    rss: value("process_resident_memory_bytes"),
    external: value("nodejs_external_memory_bytes"),
    handles: value("nodejs_active_handles_total"),
    resources: value("nodejs_active_resources_total"),
    openFds: value("process_open_fds"),
    keys: ["available", "leased", "cooling"].reduce((sum, state) => sum + sampleValue(samples, "token_keys", { state }), 0),
  };
}

export async function snapshot(httpAddress: string): Promise<Snapshot> {
  return snapshotOf(await scrape(httpAddress));
}

let collections = 0;

/** A full GC in the service (SIGUSR2, answered `{"gc": n}`), then a snapshot. */
export async function snapshotAfterGc(service: JsonProcess, httpAddress: string): Promise<Snapshot> {
  collections += 1;
  const expected = collections;
  service.child.kill("SIGUSR2");
  const exposed = await service.waitFor((m) => (m["gc"] === expected ? m["exposed"] === true : undefined), 10_000, `garbage collection ${expected}`);
  if (!exposed) throw new Error("the service process has no global gc(): start it with --expose-gc");
  return snapshot(httpAddress);
}

/** Snapshots until the pool is empty (every short-lived key expired or swept), at most `timeoutMs`. */
export async function waitForEmptyPool(httpAddress: string, timeoutMs: number): Promise<Snapshot> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const now = await snapshot(httpAddress);
    if (now.keys === 0 || Date.now() > deadline) return now;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
