/**
 * GET /healthz, timed from the request to the last byte of the answer, two ways: on a
 * fresh connection each time (what a load balancer's health check or a new client
 * pays: accept, parse, answer) and on one kept-alive connection. Paced over a window,
 * so a window that spans the server cutting a thousand slow connections samples it.
 */
import { Agent, request } from "node:http";
import { performance } from "node:perf_hooks";

export interface Probes {
  /** Milliseconds, in the order taken. */
  readonly fresh: number[];
  readonly keepAlive: number[];
  /** The slowest probes of either kind: when each started (epoch ms) and how long it took. */
  readonly slowest: { readonly kind: string; readonly at: number; readonly ms: number }[];
  /** What went wrong with each failed probe of each kind (a status other than 200, an error, no answer in 5 s). */
  readonly failed: { readonly fresh: string[]; readonly keepAlive: string[] };
}

export interface Summary {
  readonly n: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

const PROBE_TIMEOUT_MS = 5000;

/** `count` probes of each kind, spread evenly over `windowMs` (back to back when they take longer). */
export async function probeHealthz(httpAddress: string, count: number, windowMs: number): Promise<Probes> {
  const colon = httpAddress.lastIndexOf(":");
  const target = { host: httpAddress.slice(0, colon), port: Number(httpAddress.slice(colon + 1)) };
  const keepAliveAgent = new Agent({ keepAlive: true, maxSockets: 1 });
  const probes: Probes = { fresh: [], keepAlive: [], slowest: [], failed: { fresh: [], keepAlive: [] } };
  const started = performance.now();
  try {
    for (let i = 0; i < count; i += 1) {
      for (const [kind, samples, failed, agent] of [
        ["fresh", probes.fresh, probes.failed.fresh, false],
        ["keep-alive", probes.keepAlive, probes.failed.keepAlive, keepAliveAgent],
      ] as const) {
        const at = Date.now();
        const outcome = await timedGet(target, agent);
        if (typeof outcome !== "number") {
          failed.push(outcome);
          continue;
        }
        samples.push(outcome);
        keepSlowest(probes.slowest, { kind, at, ms: outcome });
      }
      const next = started + ((i + 1) * windowMs) / count;
      const wait = next - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
  } finally {
    keepAliveAgent.destroy();
  }
  return probes;
}

const SLOWEST_KEPT = 10;

function keepSlowest(slowest: Probes["slowest"], probe: Probes["slowest"][number]): void {
  if (slowest.length === SLOWEST_KEPT && (slowest[SLOWEST_KEPT - 1]?.ms ?? 0) >= probe.ms) return;
  slowest.push(probe);
  slowest.sort((a, b) => b.ms - a.ms);
  slowest.length = Math.min(slowest.length, SLOWEST_KEPT);
}

/** One GET /healthz: its time in ms, or what went wrong. */
function timedGet(target: { host: string; port: number }, agent: Agent | false): Promise<number | string> {
  return new Promise((resolve) => {
    const started = performance.now();
    const req = request({ ...target, path: "/healthz", agent, headers: agent === false ? { connection: "close" } : {} }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode === 200 ? performance.now() - started : `status ${res.statusCode}`));
      res.on("error", (error) => resolve(error.message));
    });
    req.setTimeout(PROBE_TIMEOUT_MS, () => req.destroy(new Error(`no answer in ${PROBE_TIMEOUT_MS} ms`)));
    req.on("error", (error) => resolve(error.message));
    req.end();
  });
}

/** Every failure of both kinds. */
export function failuresOf(probes: Probes): string[] {
  return [...probes.failed.fresh.map((f) => `fresh: ${f}`), ...probes.failed.keepAlive.map((f) => `keep-alive: ${f}`)];
}

export function summarize(samples: readonly number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
  return { n: sorted.length, p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1] ?? Number.NaN };
}
