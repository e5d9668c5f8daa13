/**
 * Whether a storm run's steady calls answered as they should, and the latency
 * summaries of its windows. h2load cannot tell a gRPC error from an answer (both
 * are HTTP 200; an error is trailers only, no DATA), so failures show as missing
 * answer bytes against what one call per method answered just before the load.
 */
import { CreateResponse } from "../../clients/generated/tokens/v1/tokens";
import type { StormKind } from "./storm-kinds";
import { type H2loadEntry, type LoadResult, percentile } from "./tools";
import { grpcFrame, probeGrpc } from "./workloads";

export interface Latency {
  readonly count: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

export function summarize(values: readonly number[]): Latency {
  const sorted = Float64Array.from(values).sort();
  return { count: sorted.length, p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99), maxMs: sorted.length > 0 ? (sorted[sorted.length - 1] as number) : Number.NaN };
}

/** Answer bytes per method of a call that succeeds (what h2load then counts). */
export type Expected = readonly number[];

const GRPC_RESOURCE_EXHAUSTED = 8;

/**
 * One call per method with the load's exact body. Every call must succeed, except the
 * capacity storm's Create: the pool is full until the instant, so it must be refused with
 * RESOURCE_EXHAUSTED (which also proves the body parses), and its success size is computed.
 */
export async function probe(kind: StormKind, address: string, methods: readonly string[], frame: Buffer): Promise<Expected> {
  const expected: number[] = [];
  for (const method of methods) {
    const answer = await probeGrpc(address, method, frame);
    const full = kind === "capacity" && method.endsWith("/Create");
    const status = full ? GRPC_RESOURCE_EXHAUSTED : 0;
    if (answer.grpcStatus !== status) throw new Error(`${address}${method} answered grpc-status ${answer.grpcStatus} to the storm's body, expected ${status}`);
    expected.push(full ? grpcFrame(CreateResponse.encode({ keyId: "A".repeat(22) }).finish()).length : answer.dataBytes);
  }
  return expected;
}

export interface Creates {
  /** Creates sent from the instant on (half the calls: Create and Get alternate on each connection). */
  readonly sentAfterInstant: number;
  /** Keys they made: CREATED events from the instant on, as the storm server's store reported them. */
  readonly made: number;
}

/**
 * Capacity: every Create sent from the instant on should have made a key (each one that
 * finds the pool full expires the earliest passed key to make room). Counted as the store
 * reports its CREATED events, not from the pool's size after the run: the load's one body
 * is a GetRequest, which CreateRequest reads as a `ttl` of 0 s (fitsEveryBody), granted as
 * 1 s, so each made key is gone a second later (the pool held about one second's worth).
 */
export function createsOf(entries: readonly H2loadEntry[], instant: number, created: number): Creates {
  const after = entries.filter((e) => e.status === 200 && e.startUs / 1000 >= instant).length;
  return { sentAfterInstant: Math.round(after / 2), made: created };
}

/** Failed calls, by h2load's own count and by missing answer bytes. */
export function answerProblems(load: LoadResult, expected: Expected, creates: Creates | undefined): string[] {
  const problems: string[] = [];
  if (load.errors > 0) problems.push(`${load.errors} steady calls failed (non-2xx or transport errors)`);
  const bytes = (load.bytesPerResponse ?? 0) * load.requests;
  let floor: number;
  if (creates === undefined) {
    floor = 0.95 * load.requests * (expected.reduce((sum, b) => sum + b, 0) / expected.length);
  } else {
    // Capacity: Gets always answer; Creates answer only from the instant on.
    const [createBytes = 0, getBytes = 0] = expected;
    floor = 0.95 * ((load.requests / 2) * getBytes + creates.made * createBytes);
    if (creates.made < 0.9 * creates.sentAfterInstant - 10) {
      problems.push(`only ${creates.made} of ~${creates.sentAfterInstant} Creates sent from the instant on made a key: Creates refused with expired keys in the pool`);
    }
  }
  if (bytes < floor) problems.push(`${bytes.toFixed(0)} answer bytes, ${floor.toFixed(0)} expected: some steady calls failed (e.g. a drained pool)`);
  return problems;
}
