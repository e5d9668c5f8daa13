/**
 * The load generators, each in its own process: h2load (nghttp2-client) for
 * gRPC, wrk for REST. Neither prints the percentiles we report, so h2load
 * writes a per-request log (--log-file) that we rank ourselves, and wrk runs a
 * Lua `done()` that prints its own exact percentiles as one JSON line.
 */
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { authArgs } from "./auth";
import { runTool } from "./procs";

export interface LoadResult {
  readonly tool: "h2load" | "wrk";
  /** Requests completed in the measured period. */
  readonly requests: number;
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Non-2xx answers plus transport errors (gRPC errors hide behind HTTP 200: see bytesPerResponse). */
  readonly errors: number;
  /** h2load: DATA bytes received per request. A gRPC error answers with trailers only (0 bytes), so a drop shows failures. */
  readonly bytesPerResponse?: number;
  /**
   * Set by the side-by-side rows: what the server process spent over the run (/proc), per
   * call (µs) and as a share of one core. A server below most of its core was held back
   * by the load generator, not by its own cost.
   */
  readonly server?: { readonly cpuUsPerCall: number; readonly busy: number };
}

const INSTALL: Readonly<Record<string, string>> = {
  h2load: "apt-get install -y nghttp2-client",
  wrk: "apt-get install -y wrk",
  "redis-server": "apt-get install -y redis-server",
  "redis-benchmark": "apt-get install -y redis-tools (comes with redis-server)",
};

/** Fails loudly, naming the Debian package, when a tool the bench drives is missing. */
export function requireTools(names: readonly string[]): void {
  const missing = names.filter((name) => spawnSync(name, ["--version"]).error !== undefined);
  if (missing.length > 0) {
    throw new Error(`missing ${missing.join(", ")} on the PATH; install with ${missing.map((name) => INSTALL[name] ?? name).join("; ")}`);
  }
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}

export interface H2loadRun {
  /** Full URLs, used in turn by each client (h2load -i). */
  readonly urls: readonly string[];
  /** The request body file (h2load -d): one gRPC frame. */
  readonly bodyFile: string;
  readonly clients: number;
  readonly streams: number;
  readonly seconds: number;
  /** Send exactly this many requests instead of running for `seconds` (filling a pool). */
  readonly count?: number;
  /** Fixed rate per client (--rps); omitted: as fast as the server answers. */
  readonly ratePerClient?: number;
  readonly cpu?: number | undefined;
  /** Where the URL list and the per-request log are written. */
  readonly dir: string;
}

export interface H2loadEntry {
  /** Request start, µs since the epoch. */
  readonly startUs: number;
  readonly status: number;
  readonly latencyUs: number;
}

const GRPC_HEADERS = ["-H", "content-type: application/grpc", "-H", "te: trailers"];

let runCount = 0;

export async function h2load(run: H2loadRun): Promise<{ readonly result: LoadResult; readonly entries: readonly H2loadEntry[] }> {
  runCount += 1;
  const urlFile = join(run.dir, `urls-${runCount}.txt`);
  const logFile = join(run.dir, `h2load-${runCount}.tsv`);
  writeFileSync(urlFile, run.urls.join("\n") + "\n");
  const args = [
    ...["-t", "1", "-c", String(run.clients), "-m", String(run.streams)],
    // No --warm-up-time: h2load would count the warm-up's bytes in "data" but not its requests,
    // and bytes per response is how gRPC failures (HTTP 200, trailers only) are caught. Callers warm up with a discarded run.
    ...(run.count === undefined ? ["-D", `${Math.round(run.seconds * 1000)}ms`] : ["-n", String(run.count)]),
    ...(run.ratePerClient === undefined ? [] : ["--rps", String(run.ratePerClient)]),
    ...["-i", urlFile, "-d", run.bodyFile, "--log-file", logFile, ...GRPC_HEADERS, ...authArgs()],
  ];
  const tool = await runTool("h2load", args, { cpu: run.cpu, timeoutMs: (run.seconds + 30) * 1000 });
  if (tool.code !== 0) throw new Error(`h2load exited ${tool.code}: ${tool.stderr || tool.stdout}`);
  const out = tool.stdout;
  const rps = num(/finished in [\d.]+m?s, ([\d.]+) req\/s/, out, "req/s");
  const done = num(/requests: \d+ total, \d+ started, (\d+) done/, out, "requests done");
  const failed = num(/(\d+) failed, (?:\d+) errored/, out, "failed") + num(/(\d+) errored/, out, "errored") + num(/(\d+) timeout/, out, "timeout");
  const non2xx = num(/\d+ 2xx, (\d+) 3xx/, out, "3xx") + num(/(\d+) 4xx/, out, "4xx") + num(/(\d+) 5xx/, out, "5xx");
  const dataBytes = num(/\((\d+)\) data/, out, "data bytes");
  const entries = parseLog(readFileSync(logFile, "utf8"));
  // Status 0: streams cut when the period ended; neither a latency nor an error.
  const latencies = Float64Array.from(entries.filter((e) => e.status === 200).map((e) => e.latencyUs)).sort();
  const result: LoadResult = {
    tool: "h2load",
    requests: done,
    rps,
    p50Ms: percentile(latencies, 50) / 1000,
    p99Ms: percentile(latencies, 99) / 1000,
    errors: failed + non2xx,
    bytesPerResponse: done > 0 ? dataBytes / done : 0,
  };
  return { result, entries };
}

function parseLog(text: string): H2loadEntry[] {
  const entries: H2loadEntry[] = [];
  for (const line of text.split("\n")) {
    const [start, status, latency] = line.split("\t");
    if (latency === undefined) continue;
    entries.push({ startUs: Number(start), status: Number(status), latencyUs: Number(latency) });
  }
  return entries;
}

function num(pattern: RegExp, text: string, what: string): number {
  const match = pattern.exec(text);
  if (match === null) throw new Error(`h2load output without ${what}:\n${text}`);
  return Number(match[1]);
}

/** Appended to every wrk script: exact percentiles and error counts as one parseable line. */
const WRK_DONE = `
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRKJSON {"requests":%d,"durationUs":%d,"status":%d,"connect":%d,"read":%d,"write":%d,"timeout":%d,"p50Us":%d,"p99Us":%d}\\n',
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
`;

export interface WrkRun {
  readonly baseUrl: string;
  /** Lua defining the requests (and `response` when it chains them); `done` is added here. */
  readonly lua: string;
  readonly connections: number;
  readonly seconds: number;
  readonly cpu?: number | undefined;
  readonly dir: string;
}

interface WrkJson {
  requests: number;
  durationUs: number;
  status: number;
  connect: number;
  read: number;
  write: number;
  timeout: number;
  p50Us: number;
  p99Us: number;
}

export async function wrk(run: WrkRun): Promise<LoadResult> {
  runCount += 1;
  const script = join(run.dir, `wrk-${runCount}.lua`);
  writeFileSync(script, run.lua + WRK_DONE);
  // wrk takes whole seconds only.
  const args = ["-t", "1", "-c", String(run.connections), "-d", `${Math.max(1, Math.round(run.seconds))}s`, ...authArgs(), "-s", script, run.baseUrl];
  const result = await runTool("wrk", args, { cpu: run.cpu, timeoutMs: (run.seconds + 30) * 1000 });
  const line = result.stdout.split("\n").find((l) => l.startsWith("WRKJSON "));
  if (result.code !== 0 || line === undefined) throw new Error(`wrk exited ${result.code}: ${result.stderr || result.stdout}`);
  const r = JSON.parse(line.slice("WRKJSON ".length)) as WrkJson;
  return {
    tool: "wrk",
    requests: r.requests,
    rps: r.requests / (r.durationUs / 1e6),
    p50Ms: r.p50Us / 1000,
    p99Ms: r.p99Us / 1000,
    errors: r.status + r.connect + r.read + r.write + r.timeout,
  };
}
