/**
 * `npm run bench:pool`: the pool core alone, no network. ns/op for every
 * operation at several pool sizes, heap bytes per key, and the ratios the
 * targets are stated in. `--smoke` runs tiny sizes (npm test uses it so the
 * bench cannot rot); `--json FILE` writes the figures.
 */
import { writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { performance } from "node:perf_hooks";
import type { Clock } from "../src/core/clock";
import { lineChart } from "./svg-chart";
import { CATCHING_UP, type CatchingUp, KeyPool, type KeyRecord } from "../src/core/key-pool";

/** The bench never builds a deadline backlog, so every answer is a record. */
function record(answer: KeyRecord | CatchingUp): KeyRecord {
  if (answer === CATCHING_UP) throw new Error("unexpected CATCHING_UP");
  return answer;
}

const argv = process.argv.slice(2);
const smoke = argv.includes("--smoke");
const jsonAt = argv.indexOf("--json");
const jsonPath = jsonAt >= 0 ? argv[jsonAt + 1] : undefined;
const svgAt = argv.indexOf("--svg");
const svgPath = svgAt >= 0 ? argv[svgAt + 1] : undefined;
const SIZES = smoke ? [1e3, 1e4] : [1e3, 1e4, 1e5, 1e6];
/**
 * v1's operations, then v2's: a release with its lease into a cooldown, the cooldown's
 * end (a cooling key handed out again by acquire), a keep-alive that renews a lease,
 * and List (per key listed, pages of 100, so it reads against the others).
 */
const OPS = ["create", "acquire", "release", "keepAlive", "get", "delete", "expire", "releaseLeaseCool", "acquireCooled", "keepAliveLease", "listPerKey"] as const;
type Op = (typeof OPS)[number];
const KEY_TTL = 300_000;
const BLOCK_TTL = 60_000;

class BenchClock implements Clock {
  constructor(public t = 1_800_000_000_000) {}
  now(): number {
    return this.t;
  }
}

function time(count: number, body: (i: number) => void): number {
  const started = performance.now();
  for (let i = 0; i < count; i += 1) body(i);
  return ((performance.now() - started) * 1e6) / count;
}

/** One size's pool and the ids its calls name, made once and measured round after round. */
interface Setup {
  readonly size: number;
  readonly clock: BenchClock;
  readonly pool: KeyPool;
  /** Calls per op per round. */
  readonly m: number;
  readonly pick: (i: number) => string;
  readonly best: Record<Op, number>;
}

function setUp(size: number): Setup {
  const clock = new BenchClock();
  const pool = new KeyPool(clock, { keyTtlMs: KEY_TTL, blockTtlMs: BLOCK_TTL, maxKeys: 1e8 });
  const m = Math.min(size, 20_000);
  const ids: string[] = [];
  for (let i = 0; i < size; i += 1) ids.push(record(pool.create()).keyId);
  // Ids in a random order over the whole pool, copied into fresh strings laid out in the
  // order they are used: as ids arrive from the network, the caller's string is in cache
  // and only the pool's own memory is touched at random.
  const order = Array.from({ length: m }, (_, i) => Buffer.from(ids[(i * 7919) % size] as string).toString());
  const best = Object.fromEntries(OPS.map((op) => [op, Infinity])) as Record<Op, number>;
  return { size, clock, pool, m, pick: (i) => order[i] as string, best };
}

/** One round of every op on one size's pool, keeping each op's best ns/op. */
function measureRound(setup: Setup): void {
  const { pool, clock, m, pick, best } = setup;
  const keep = (op: Op, ns: number): void => {
    best[op] = Math.min(best[op], ns);
  };
  const extra: string[] = new Array(m);
  keep("create", time(m, (i) => void (extra[i] = record(pool.create()).keyId)));
  keep("delete", time(m, (i) => pool.delete(extra[i] as string)));
  const held: string[] = new Array(m);
  keep("acquire", time(m, (i) => void (held[i] = record(pool.acquire()).keyId)));
  keep("release", time(m, (i) => void pool.release(held[i] as string)));
  keep("keepAlive", time(m, (i) => void pool.keepAlive(pick(i))));
  keep("get", time(m, (i) => void pool.get(pick(i))));
  // v2: hold m keys, renew each lease, release each into a 1 s cooldown; once the
  // cooldowns have ended, acquire hands the cooled keys out again (each call applies the
  // cooldown ends it observes, within its budget), and they are released for the next round.
  const leases: number[] = new Array(m);
  for (let i = 0; i < m; i += 1) {
    const held = record(pool.acquire());
    extra[i] = held.keyId;
    leases[i] = held.lease as number;
  }
  keep("keepAliveLease", time(m, (i) => void pool.keepAlive(extra[i] as string, leases[i])));
  keep("releaseLeaseCool", time(m, (i) => void pool.release(extra[i] as string, leases[i], 1000)));
  clock.t += 1000;
  keep("acquireCooled", time(m, (i) => void (held[i] = record(pool.acquire()).keyId)));
  for (let i = 0; i < m; i += 1) pool.release(held[i] as string);
  const pages = Math.max(1, Math.floor(m / 100));
  let cursor = 0;
  keep(
    "listPerKey",
    time(pages, () => {
      const page = pool.list(cursor, 100);
      cursor = page.next ?? 0;
    }) / 100,
  );
}

/**
 * Expiry processing: m victims with the shortest lifetime, then exactly they are due; the
 * sweeper's call, per key applied. (Made last: the rounds' keep-alives would renew them.)
 */
function measureExpiry(setup: Setup): void {
  const { pool, clock, m, best } = setup;
  for (let i = 0; i < m; i += 1) record(pool.create(1000));
  clock.t += 1000;
  const started = performance.now();
  const applied = pool.expireDue(m);
  best.expire = ((performance.now() - started) * 1e6) / applied;
  if (applied !== m) throw new Error(`expected ${m} expiries, applied ${applied}`);
}

/**
 * Visits per size (two rounds each); each op's best is kept. On this VM a stall lasts several
 * rounds: with 16 rounds a size, two runs minutes apart agreed within 5% on every op but expire
 * (timed once), where 8 rounds had left two runs of one build up to 30% apart.
 */
const VISITS = 8;

function bytesPerKey(size: number): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) return Number.NaN;
  const used = (): number => {
    gc();
    gc();
    const usage = process.memoryUsage();
    return usage.heapUsed + usage.arrayBuffers;
  };
  const before = used();
  const pool = new KeyPool(new BenchClock(), { keyTtlMs: KEY_TTL, blockTtlMs: BLOCK_TTL, maxKeys: 1e8 });
  for (let i = 0; i < size; i += 1) pool.create();
  const after = used();
  if (pool.size !== size) throw new Error("pool lost keys");
  return (after - before) / size;
}

// Warm-up: let the JIT settle (one pass left 1e3 figures above 1e4 ones) before anything is kept.
for (let pass = 0; pass < 3; pass += 1) {
  const warm = setUp(SIZES[0] as number);
  measureRound(warm);
  measureExpiry(warm);
}
// Every size is measured in every round, one after another: the machine's speed drifts by
// up to 2x within a minute here, and sizes measured minutes apart made ratios of that drift.
const setups = SIZES.map(setUp);
// Each visit runs two rounds back to back: the first brings the pool back into the caches
// the other sizes' rounds took it out of (a small pool is measured resident, as it would be
// in a process that serves only it); a best taken over a cold round can only be higher.
for (let visit = 0; visit < VISITS; visit += 1) {
  for (const setup of setups) {
    measureRound(setup);
    measureRound(setup);
  }
}
for (const setup of setups) measureExpiry(setup);
const results = setups.map(({ size, best }) => ({ size, ns: best }));
const largest = SIZES[SIZES.length - 1] as number;
const memory = { size: largest, bytesPerKey: bytesPerKey(largest) };

const pad = (text: string | number, width: number): string => String(text).padStart(width);
const first = results[0] as (typeof results)[number];
const ratioAt = (size: number) => results.find((r) => r.size === size) ?? results[results.length - 1]!;
const mid = ratioAt(1e5);
console.log(`pool core, ns/op (best of ${2 * VISITS} rounds, sizes interleaved)        node ${process.version}`);
const last = results[results.length - 1] as (typeof results)[number];
const sizeLabel = (size: number): string => size.toExponential(0).replace("+", "");
console.log(`${"op".padEnd(18)}${SIZES.map((s) => pad(s.toExponential(0), 9)).join("")}${pad(`${sizeLabel(mid.size)}/1e3`, 10)}${pad(`${sizeLabel(last.size)}/1e3`, 10)}`);
for (const op of OPS) {
  const cells = results.map((r) => pad(r.ns[op].toFixed(0), 9)).join("");
  console.log(`${op.padEnd(18)}${cells}${pad((mid.ns[op] / first.ns[op]).toFixed(2), 10)}${pad((last.ns[op] / first.ns[op]).toFixed(2), 10)}`);
}
console.log(`memory: ${memory.bytesPerKey.toFixed(1)} bytes/key at ${largest.toExponential(0)} keys (heap + array buffers, after GC)`);

const worstMidRatio = Math.max(...OPS.map((op) => mid.ns[op] / first.ns[op]));
const slowestAtLargest = Math.max(...OPS.map((op) => ratioAt(largest).ns[op]));
console.log(`targets: ${mid.size.toExponential(0)}/1e3 ≤ 2 → worst ${worstMidRatio.toFixed(2)}; every op < 1000 ns at ${largest.toExponential(0)} → slowest ${slowestAtLargest.toFixed(0)} ns; ≤ 120 B/key → ${memory.bytesPerKey.toFixed(0)}`);
if (jsonPath !== undefined) {
  const machine = { cpus: cpus().length, model: cpus()[0]?.model ?? "unknown", memoryGiB: Math.round(totalmem() / 2 ** 30) };
  writeFileSync(jsonPath, JSON.stringify({ bench: "pool", date: new Date().toISOString(), node: process.version, machine, smoke, results, memory }, null, 2) + "\n");
}
if (svgPath !== undefined) {
  const series = OPS.map((op) => ({ name: op, points: results.map((r) => [r.size, r.ns[op]] as const) }));
  writeFileSync(svgPath, lineChart(`pool core: ns/op against pool size (${process.version})`, "keys in the pool", "ns per operation", series));
}
