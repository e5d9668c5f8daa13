/** Start-up configuration, read from the environment and validated once. */
export interface Config {
  readonly host: string;
  readonly grpcPort: number;
  readonly httpPort: number;
  readonly keyTtlMs: number;
  readonly blockTtlMs: number;
  readonly maxKeys: number;
  readonly store: "memory" | "redis";
  readonly redisUrl: string;
  readonly redisPrefix: string;
  readonly logLevel: string;
  readonly shutdownGraceMs: number;
}

/** A bad setting: the message is one line that names the variable. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

type Env = Readonly<Record<string, string | undefined>>;

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

/** "1.5s", "250ms", "5m", "2h": a number (fractions allowed) and a unit. */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?|\.\d+)(ms|s|m|h)$/.exec(text.trim());
  if (match === null) return undefined;
  return Math.round(Number(match[1]) * (UNIT_MS[match[2] as string] as number));
}

export function loadConfig(env: Env = process.env): Config {
  const read = (name: string, fallback: string): [string, string] => [name, env[name]?.trim() || fallback];
  return {
    host: read("HOST", "127.0.0.1")[1],
    grpcPort: port(...read("GRPC_PORT", "50051")),
    httpPort: port(...read("PORT", "8080")),
    keyTtlMs: duration(...read("KEY_TTL", "5m"), YEAR_MS),
    blockTtlMs: duration(...read("BLOCK_TTL", "60s"), YEAR_MS),
    maxKeys: positiveInteger(...read("MAX_KEYS", "10000000")),
    store: oneOf(...read("STORE", "memory"), ["memory", "redis"] as const),
    redisUrl: redisUrl(...read("REDIS_URL", "redis://127.0.0.1:6379")),
    redisPrefix: read("REDIS_PREFIX", "tokens:")[1],
    logLevel: oneOf(...read("LOG_LEVEL", "info"), LOG_LEVELS),
    shutdownGraceMs: duration(...read("SHUTDOWN_GRACE", "10s"), HOUR_MS),
  };
}

function fail(name: string, value: string, expected: string): never {
  throw new ConfigError(`${name}=${JSON.stringify(value)} is invalid: expected ${expected}`);
}

function port(name: string, value: string): number {
  const parsed = /^\d{1,5}$/.test(value) ? Number(value) : Number.NaN;
  return parsed >= 0 && parsed <= 65535 ? parsed : fail(name, value, "a port from 0 to 65535 (0 picks a free one)");
}

const HOUR_MS = 3_600_000;
/** Longest lifetime or hold: far beyond any use, far below where instants stop being exact. */
const YEAR_MS = 8760 * HOUR_MS;

/** A duration of at least 1 ms and at most `maxMs` (so every deadline and timer stays exact). */
function duration(name: string, value: string, maxMs: number): number {
  const ms = parseDuration(value);
  const limit = maxMs === HOUR_MS ? "1h" : "8760h (a year)";
  return ms !== undefined && ms >= 1 && ms <= maxMs ? ms : fail(name, value, `a duration from 1ms to ${limit} with a unit: ms, s, m or h (e.g. 1.5s, 5m)`);
}

function positiveInteger(name: string, value: string): number {
  const parsed = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  return Number.isSafeInteger(parsed) && parsed > 0 ? parsed : fail(name, value, "a positive whole number");
}

function oneOf<T extends string>(name: string, value: string, allowed: readonly T[]): T {
  return (allowed as readonly string[]).includes(value) ? (value as T) : fail(name, value, `one of ${allowed.join(", ")}`);
}

function redisUrl(name: string, value: string): string {
  try {
    const url = new URL(value);
    if (url.protocol === "redis:" || url.protocol === "rediss:") return value;
  } catch {
    // falls through to the one-line message
  }
  return fail(name, value, "a redis:// or rediss:// URL");
}
