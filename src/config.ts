import { readFileSync } from "node:fs";
import { BlockList, isIP } from "node:net";
import { TokenSet, TokensFileError } from "./service/tokens";

/** TLS material, read from the files the settings name. */
export interface TlsFiles {
  readonly cert: Buffer;
  readonly key: Buffer;
  /** Set for mutual TLS: clients must present a certificate this CA signed. */
  readonly clientCa: Buffer | undefined;
}

/** Start-up configuration, read from the environment and validated once. */
export interface Config {
  readonly host: string;
  readonly grpcPort: number;
  readonly httpPort: number;
  readonly keyTtlMs: number;
  readonly blockTtlMs: number;
  /** Longest lifetime Create may ask for; longer is clamped. */
  readonly maxKeyTtlMs: number;
  /** Longest hold (and cooldown) a caller may ask for; longer is clamped. */
  readonly maxBlockTtlMs: number;
  /** Longest an Acquire may wait for a key; longer is clamped. */
  readonly maxAcquireWaitMs: number;
  readonly maxKeys: number;
  /** Key events kept for Watch to resume from (per pool). */
  readonly watchRetention: number;
  /** Longest a Watch answer may wait for its reader before the watcher is dropped. */
  readonly watchSendTimeoutMs: number;
  readonly store: "memory" | "redis";
  readonly redisUrl: string;
  readonly redisPrefix: string;
  readonly logLevel: string;
  readonly shutdownGraceMs: number;
  /** The bearer tokens; undefined when the service runs open (loopback, or ALLOW_UNAUTHENTICATED). */
  readonly tokens: TokenSet | undefined;
  /** Undefined: plaintext on both ports. */
  readonly tls: TlsFiles | undefined;
  /** Requests a second per caller, per instance; undefined: no limit. */
  readonly rateLimit: number | undefined;
}

/** A bad setting: the message is one line that names the variable. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

type Env = Readonly<Record<string, string | undefined>>;
/** Reads a file the settings name (injected so tests need no files). */
export type ReadFile = (path: string) => Buffer;

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

/** "1.5s", "250ms", "5m", "2h": a number (fractions allowed) and a unit. */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?|\.\d+)(ms|s|m|h)$/.exec(text.trim());
  if (match === null) return undefined;
  return Math.round(Number(match[1]) * (UNIT_MS[match[2] as string] as number));
}

export function loadConfig(env: Env = process.env, readFile: ReadFile = readFileSync): Config {
  const read = (name: string, fallback: string): [string, string] => [name, env[name]?.trim() || fallback];
  const host = read("HOST", "127.0.0.1")[1];
  const tokens = tokenSet(readFile, ...read("AUTH_TOKENS_FILE", ""));
  const allowOpen = flag(...read("ALLOW_UNAUTHENTICATED", "false"));
  if (tokens === undefined && !allowOpen && !isLoopback(host)) {
    throw new ConfigError(
      `AUTH_TOKENS_FILE is required when HOST=${JSON.stringify(host)} is not a loopback address (or set ALLOW_UNAUTHENTICATED=true to serve everyone)`,
    );
  }
  return {
    host,
    grpcPort: port(...read("GRPC_PORT", "50051")),
    httpPort: port(...read("PORT", "8080")),
    keyTtlMs: duration(...read("KEY_TTL", "5m"), YEAR_MS),
    blockTtlMs: duration(...read("BLOCK_TTL", "60s"), YEAR_MS),
    maxKeyTtlMs: duration(...read("MAX_KEY_TTL", "24h"), YEAR_MS),
    maxBlockTtlMs: duration(...read("MAX_BLOCK_TTL", "1h"), YEAR_MS),
    maxAcquireWaitMs: duration(...read("MAX_ACQUIRE_WAIT", "30s"), HOUR_MS),
    maxKeys: positiveInteger(...read("MAX_KEYS", "10000000")),
    watchRetention: positiveInteger(...read("WATCH_RETENTION", "10000")),
    watchSendTimeoutMs: duration(...read("WATCH_SEND_TIMEOUT", "10s"), HOUR_MS),
    store: oneOf(...read("STORE", "memory"), ["memory", "redis"] as const),
    redisUrl: redisUrl(...read("REDIS_URL", "redis://127.0.0.1:6379")),
    redisPrefix: read("REDIS_PREFIX", "tokens:")[1],
    logLevel: oneOf(...read("LOG_LEVEL", "info"), LOG_LEVELS),
    shutdownGraceMs: duration(...read("SHUTDOWN_GRACE", "10s"), HOUR_MS),
    tokens,
    tls: tlsFiles(readFile, read("TLS_CERT_FILE", ""), read("TLS_KEY_FILE", ""), read("TLS_CLIENT_CA_FILE", "")),
    rateLimit: rate(...read("RATE_LIMIT", "")),
  };
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet("127.0.0.0", 8, "ipv4");
LOOPBACK.addAddress("::1", "ipv6");
LOOPBACK.addSubnet("::ffff:127.0.0.0", 104, "ipv6");

/** 127.0.0.0/8, ::1 (any spelling), or the name localhost: reachable from this machine only. */
export function isLoopback(host: string): boolean {
  if (host === "localhost") return true;
  const bare = host.replace(/^\[|\]$/g, "");
  const family = isIP(bare);
  return family !== 0 && LOOPBACK.check(bare, family === 4 ? "ipv4" : "ipv6");
}

function tokenSet(readFile: ReadFile, name: string, path: string): TokenSet | undefined {
  if (path === "") return undefined;
  const text = fileText(readFile, name, path);
  try {
    return TokenSet.parse(text);
  } catch (error) {
    if (error instanceof TokensFileError) throw new ConfigError(`${name}=${JSON.stringify(path)}: ${error.message}`);
    throw error;
  }
}

function tlsFiles(readFile: ReadFile, cert: [string, string], key: [string, string], clientCa: [string, string]): TlsFiles | undefined {
  if (cert[1] === "" && key[1] === "") {
    if (clientCa[1] !== "") throw new ConfigError(`${clientCa[0]} needs TLS_CERT_FILE and TLS_KEY_FILE (mutual TLS is TLS first)`);
    return undefined;
  }
  if (cert[1] === "" || key[1] === "") throw new ConfigError(`${cert[1] === "" ? cert[0] : key[0]} is required with ${cert[1] === "" ? key[0] : cert[0]}`);
  return {
    cert: Buffer.from(fileText(readFile, ...cert)),
    key: Buffer.from(fileText(readFile, ...key)),
    clientCa: clientCa[1] === "" ? undefined : Buffer.from(fileText(readFile, ...clientCa)),
  };
}

function fileText(readFile: ReadFile, name: string, path: string): string {
  try {
    return readFile(path).toString("utf8");
  } catch (error) {
    const reason = (error as { code?: unknown }).code;
    throw new ConfigError(`${name}=${JSON.stringify(path)}: cannot read the file${typeof reason === "string" ? ` (${reason})` : ""}`);
  }
}

function flag(name: string, value: string): boolean {
  return value === "true" ? true : value === "false" ? false : fail(name, value, "true or false");
}

function rate(name: string, value: string): number | undefined {
  if (value === "") return undefined;
  const parsed = /^\d+(\.\d+)?$/.test(value) ? Number(value) : Number.NaN;
  return parsed > 0 && parsed <= 1_000_000 ? parsed : fail(name, value, "requests a second per caller, above 0 (e.g. 50 or 0.5)");
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
