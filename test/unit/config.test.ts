/**
 * Configuration refusals and defaults, through `loadConfig(env)` in process: no spawn per case.
 * test/integration/process.test.ts keeps one real start-up refusal to prove main.ts prints the
 * message on one stderr line and exits 1.
 */
import { expect } from "chai";
import { type Config, ConfigError, loadConfig } from "../../src/config";

type Env = Record<string, string>;

const DEFAULTS: Config = {
  host: "127.0.0.1",
  grpcPort: 50051,
  httpPort: 8080,
  keyTtlMs: 300_000,
  blockTtlMs: 60_000,
  maxKeys: 10_000_000,
  store: "memory",
  redisUrl: "redis://127.0.0.1:6379",
  redisPrefix: "tokens:",
  logLevel: "info",
  shutdownGraceMs: 10_000,
};

const VARIABLES = ["HOST", "GRPC_PORT", "PORT", "KEY_TTL", "BLOCK_TTL", "STORE", "REDIS_URL", "REDIS_PREFIX", "MAX_KEYS", "LOG_LEVEL", "SHUTDOWN_GRACE"];

/** The ConfigError's message: `loadConfig` must refuse `env` with exactly that class. */
function refusal(env: Env): string {
  let thrown: unknown;
  try {
    loadConfig(env);
  } catch (error) {
    thrown = error;
  }
  expect(thrown, `refuses ${JSON.stringify(env)}`).to.be.instanceOf(ConfigError);
  return (thrown as ConfigError).message;
}

/** Refused with one line that starts by naming `name` (so `PORT` is not taken for `GRPC_PORT`). */
function expectRefused(name: string, values: readonly string[]): void {
  for (const value of values) {
    const message = refusal({ [name]: value });
    const label = `${name}=${JSON.stringify(value)}`;
    expect(message.split("\n"), `${label}: one line`).to.have.length(1);
    expect(message, label).to.match(new RegExp(`^${name}=`));
  }
}

/** Each `value` is accepted and read as `expected` in `field`. */
function expectRead<K extends keyof Config>(name: string, field: K, cases: readonly (readonly [string, Config[K]])[]): void {
  for (const [value, expected] of cases) {
    expect(loadConfig({ [name]: value })[field], `${name}=${JSON.stringify(value)}`).to.equal(expected);
  }
}

describe("loadConfig", () => {
  describe("defaults", () => {
    it("uses every default when nothing is set", () => {
      expect(loadConfig({})).to.deep.equal(DEFAULTS);
    });

    it("treats an empty or blank variable as unset", () => {
      for (const blank of ["", "   ", "\t"]) {
        const env = Object.fromEntries(VARIABLES.map((name) => [name, blank]));
        expect(loadConfig(env), JSON.stringify(blank)).to.deep.equal(DEFAULTS);
      }
    });

    it("ignores variables it does not know", () => {
      expect(loadConfig({ PATH: "/usr/bin", KEY_TTLS: "nonsense" })).to.deep.equal(DEFAULTS);
    });
  });

  describe("durations (KEY_TTL, BLOCK_TTL, SHUTDOWN_GRACE)", () => {
    const fields = [
      ["KEY_TTL", "keyTtlMs"],
      ["BLOCK_TTL", "blockTtlMs"],
      ["SHUTDOWN_GRACE", "shutdownGraceMs"],
    ] as const;

    it("reads each unit, fractions and surrounding blanks", () => {
      for (const [name, field] of fields) {
        expectRead(name, field, [
          ["250ms", 250],
          ["1ms", 1],
          ["1.5s", 1500],
          [".5s", 500],
          ["0.25m", 15_000],
          ["5m", 300_000],
          ["0.5h", 1_800_000],
          [" 30s ", 30_000],
        ]);
      }
    });

    it("refuses zero, negatives, a missing or unknown unit and malformed numbers", () => {
      for (const [name] of fields) {
        expectRefused(name, ["5", "1.5", "0s", "0ms", "0.0s", "0.4ms", "-1s", "-250ms", "5 m", "5M", "5S", "5d", "5sec", "1e3ms", "5.s", "1.5.2s", "s", "ms", "five minutes", "5m5s"]);
      }
    });

    it("refuses durations past their bound (timers and instants stay exact): a year for lifetimes and holds, an hour for the grace", () => {
      expectRead("KEY_TTL", "keyTtlMs", [["8760h", 8760 * 3_600_000]]);
      expectRead("BLOCK_TTL", "blockTtlMs", [["8760h", 8760 * 3_600_000]]);
      expectRead("SHUTDOWN_GRACE", "shutdownGraceMs", [["1h", 3_600_000], ["60m", 3_600_000]]);
      const huge = `${"9".repeat(400)}h`;
      expectRefused("KEY_TTL", ["8761h", "3000000000h", huge]);
      expectRefused("BLOCK_TTL", ["8761h", huge]);
      expectRefused("SHUTDOWN_GRACE", ["61m", "600h", huge]);
    });
  });

  describe("ports (GRPC_PORT, PORT)", () => {
    it("reads 0 (a free port) to 65535", () => {
      expectRead("GRPC_PORT", "grpcPort", [["0", 0], ["1", 1], ["50052", 50052], ["65535", 65535]]);
      expectRead("PORT", "httpPort", [["0", 0], ["1", 1], ["8081", 8081], ["65535", 65535]]);
    });

    it("refuses out-of-range and non-numeric ports", () => {
      const bad = ["65536", "70000", "123456", "-1", "+80", "80.0", "1e3", "0x50", "http", "80 81"];
      expectRefused("GRPC_PORT", bad);
      expectRefused("PORT", bad);
    });
  });

  describe("STORE", () => {
    it("reads memory and redis", () => {
      expectRead("STORE", "store", [["memory", "memory"], ["redis", "redis"]]);
    });

    it("refuses anything else, case included", () => {
      expectRefused("STORE", ["postgres", "Memory", "REDIS", "mem"]);
    });
  });

  describe("REDIS_URL", () => {
    it("reads redis:// and rediss:// URLs as given", () => {
      expectRead("REDIS_URL", "redisUrl", [
        ["redis://127.0.0.1:6380", "redis://127.0.0.1:6380"],
        ["rediss://user:secret@cache.example:6380/2", "rediss://user:secret@cache.example:6380/2"],
      ]);
    });

    it("refuses another scheme or no URL at all", () => {
      expectRefused("REDIS_URL", ["localhost:6379", "127.0.0.1:6379", "http://127.0.0.1:6379", "tcp://127.0.0.1:6379", "redis//127.0.0.1", "not a url"]);
    });
  });

  describe("LOG_LEVEL", () => {
    it("reads every pino level", () => {
      for (const level of ["fatal", "error", "warn", "info", "debug", "trace", "silent"]) {
        expectRead("LOG_LEVEL", "logLevel", [[level, level]]);
      }
    });

    it("refuses other names, case included", () => {
      expectRefused("LOG_LEVEL", ["INFO", "verbose", "warning", "0"]);
    });
  });

  describe("MAX_KEYS", () => {
    it("reads a positive whole number up to the largest safe integer", () => {
      expectRead("MAX_KEYS", "maxKeys", [["1", 1], ["100", 100], ["9007199254740991", Number.MAX_SAFE_INTEGER]]);
    });

    it("refuses zero, negatives, fractions, exponents, words and unsafe integers", () => {
      expectRefused("MAX_KEYS", ["0", "-5", "1.5", "1e6", "ten", "9007199254740992"]);
    });
  });

  describe("free-form values (HOST, REDIS_PREFIX)", () => {
    it("takes them as given, trimmed", () => {
      expectRead("HOST", "host", [["0.0.0.0", "0.0.0.0"], [" ::1 ", "::1"]]);
      expectRead("REDIS_PREFIX", "redisPrefix", [["pool-a:", "pool-a:"]]);
    });
  });

  it("names the bad variable when every other one is valid", () => {
    const valid: Env = { GRPC_PORT: "0", PORT: "0", KEY_TTL: "1s", BLOCK_TTL: "1s", STORE: "redis", MAX_KEYS: "5", LOG_LEVEL: "warn", SHUTDOWN_GRACE: "1s" };
    expect(loadConfig(valid)).to.include({ grpcPort: 0, httpPort: 0, keyTtlMs: 1000, store: "redis", maxKeys: 5, logLevel: "warn" });
    expect(refusal({ ...valid, BLOCK_TTL: "1" })).to.match(/^BLOCK_TTL=/);
    expect(refusal({ ...valid, PORT: "http" })).to.match(/^PORT=/);
  });
});
