/**
 * The Redis storms' fill: the pool's structures written directly (layout in
 * src/store/redis/lua/prelude.lua), as 10^6 keys through the Create script would
 * take minutes and spread the deadlines over them.
 */
import type Redis from "ioredis";
import { POOL_KEY_NAMES, poolKeys as poolKeyList } from "../../src/store/redis/scripts";
import { launch } from "./procs";
import type { StormKind } from "./storm-kinds";

type PoolKeyName = (typeof POOL_KEY_NAMES)[number];

/** The pool's Redis keys by name, as RedisStore names them. */
export function poolKeys(prefix: string): Record<PoolKeyName, string> {
  const keys = poolKeyList(prefix);
  return Object.fromEntries(POOL_KEY_NAMES.map((name, index) => [name, keys[index]])) as Record<PoolKeyName, string>;
}

/** Every key's lifetime in the fill: the service's default KEY_TTL. */
const TTL_MS = 300_000;
/** The storm's holds: the service's default BLOCK_TTL. */
const HOLD_MS = 60_000;

export interface RedisFillPlan {
  readonly kind: StormKind;
  /** The storm's keys: every deadline of the kind falls on the instant. Sorted: see fillRedis. */
  readonly stormIds: readonly string[];
  /** Available keys beside them (release: what the steady Acquires draw). */
  readonly spareIds: readonly string[];
  /** The steady load's named key: available, far from any deadline. */
  readonly liveId: string;
  /** Time from the end of the fill to the instant (ms). */
  readonly leadMs: number;
}

export interface RedisFilled {
  /** The storm's deadline, ms since the epoch. */
  readonly instant: number;
  readonly ms: number;
}

const BATCH = 5000;
const FAR_MS = 3_600_000;

/**
 * Replaces the pool with the plan's keys. expiry/capacity: storm keys available, expiring at
 * the instant; release: storm keys blocked (release ZSET + blocked HASH), released at the
 * instant, expiring far later. Every other key is available and far from its deadline.
 *
 * Redis itself is the bottleneck (~2–5 µs a sorted-set member), so: the writes go through
 * `redis-cli --pipe` (Redis's mass-insertion mode) as raw RESP; the storm's members are
 * sorted, as members of equal score sit in the skiplist in id order (half the ZADD time of
 * random order); and the sorted set that carries the instant is written last, once the rest
 * is in, with the instant set `leadMs` past its expected end (`zsetMsPerKey` from the previous
 * fill, updated here), so a slow fill cannot eat the window before the storm.
 */
export class RedisFiller {
  /** Expected ms per member of the last sorted set: generous until a fill has measured it. */
  private zsetMsPerKey = 0.006;

  constructor(
    private readonly redis: Redis,
    private readonly port: number,
    private readonly prefix: string,
  ) {}

  async fill(plan: RedisFillPlan): Promise<RedisFilled> {
    const started = Date.now();
    const keys = poolKeys(this.prefix);
    // UNLINK frees the old structures on a background thread: a DEL of 10^6 members would itself block Redis.
    await this.redis.unlink(...Object.values(keys));
    const now = Date.now();
    const far = now + FAR_MS;
    const release = plan.kind === "release";
    const others = [plan.liveId, ...plan.spareIds];
    const storm = plan.stormIds;
    await pipe(this.port, function* () {
      for (const ids of batches(others)) {
        yield resp(["ZADD", keys.expiry, ...pairs(ids, far)]);
        yield resp(["HSET", keys.created, ...pairs(ids, now, true)]);
        yield resp(["HSET", keys.ttl, ...pairs(ids, TTL_MS, true)]);
        yield resp(["SADD", keys.available, ...ids]);
      }
      let lastLease = 0;
      for (const ids of batches(storm)) {
        yield resp(["HSET", keys.created, ...pairs(ids, now, true)]);
        yield resp(["HSET", keys.ttl, ...pairs(ids, TTL_MS, true)]);
        if (release) {
          // Leased: each under a lease of its own (numbered as INCR would have), held BLOCK_TTL.
          yield resp(["ZADD", keys.expiry, ...pairs(ids, far)]);
          yield resp(["HSET", keys.blocked, ...pairs(ids, now, true)]);
          yield resp(["HSET", keys.hold, ...pairs(ids, HOLD_MS, true)]);
          yield resp(["HSET", keys.lease, ...ids.flatMap((id) => [id, (lastLease += 1)])]);
        } else {
          yield resp(["SADD", keys.available, ...ids]);
        }
      }
      yield resp(["SET", keys.seq, lastLease]);
    });
    const last = Date.now();
    const instant = last + Math.ceil(storm.length * this.zsetMsPerKey) + plan.leadMs;
    const zset = release ? keys.release : keys.expiry;
    await pipe(this.port, function* () {
      for (const ids of batches(storm)) yield resp(["ZADD", zset, ...pairs(ids, instant)]);
    });
    const done = Date.now();
    this.zsetMsPerKey = Math.max(0.001, (1.5 * (done - last)) / Math.max(1, storm.length));
    return { instant, ms: done - started };
  }
}

function* batches(ids: readonly string[]): Generator<readonly string[]> {
  for (let at = 0; at < ids.length; at += BATCH) yield ids.slice(at, at + BATCH);
}

/** Sends RESP commands through `redis-cli --pipe`, minding back-pressure; throws on any error reply. */
async function pipe(port: number, commands: () => Generator<string>): Promise<void> {
  const child = launch("redis-cli", ["-h", "127.0.0.1", "-p", String(port), "--pipe"], { stdin: true });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", resolve);
  });
  const stdin = child.stdin;
  if (stdin === null) throw new Error("redis-cli --pipe has no stdin");
  for (const command of commands()) {
    if (!stdin.write(command)) await new Promise((drained) => stdin.once("drain", drained));
  }
  stdin.end();
  const code = await exited;
  // redis-cli --pipe ends with "errors: E, replies: R".
  if (code !== 0 || /errors:\s*(\d+)/.exec(output)?.[1] !== "0") throw new Error(`redis-cli --pipe exited ${code}: ${output.trim()}`);
}

/** One command in RESP (every argument here is ASCII: ids are base64url, the rest digits and key names). */
function resp(args: readonly (string | number)[]): string {
  let out = `*${args.length}\r\n`;
  for (const arg of args) {
    const text = String(arg);
    out += `$${text.length}\r\n${text}\r\n`;
  }
  return out;
}

/** [score, member, …] for ZADD, or [member, value, …] for HSET (`memberFirst`). */
function pairs(ids: readonly string[], value: number, memberFirst = false): (string | number)[] {
  const out: (string | number)[] = new Array(2 * ids.length);
  ids.forEach((id, i) => {
    out[2 * i] = memberFirst ? id : value;
    out[2 * i + 1] = memberFirst ? value : id;
  });
  return out;
}

