/**
 * Configuration refusals and defaults, through `loadConfig(env)` in process: no spawn per case.
 * test/integration/process.test.ts keeps one real start-up refusal to prove main.ts prints the
 * message on one stderr line and exits 1.
 */
import { expect } from "chai";
import { type Config, ConfigError, isLoopback, loadConfig, type ReadFile } from "../../src/config";

type Env = Record<string, string>;

const DEFAULTS: Config = {
  host: "127.0.0.1",
  grpcPort: 50051,
  httpPort: 8080,
  keyTtlMs: 300_000,
  blockTtlMs: 60_000,
  maxKeyTtlMs: 86_400_000,
  maxBlockTtlMs: 3_600_000,
  maxAcquireWaitMs: 30_000,
  maxKeys: 10_000_000,
  watchRetention: 10_000,
  watchSendTimeoutMs: 10_000,
  store: "memory",
  redisUrl: "redis://127.0.0.1:6379",
  redisPrefix: "tokens:",
  logLevel: "info",
  shutdownGraceMs: 10_000,
  tokens: undefined,
  tls: undefined,
  rateLimit: undefined,
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
      expectRead("HOST", "host", [["127.0.0.2", "127.0.0.2"], [" ::1 ", "::1"], ["localhost", "localhost"]]);
      expect(loadConfig({ HOST: "0.0.0.0", ALLOW_UNAUTHENTICATED: "true" }).host).to.equal("0.0.0.0");
      expectRead("REDIS_PREFIX", "redisPrefix", [["pool-a:", "pool-a:"]]);
    });
  });

  it("names the bad variable when every other one is valid", () => {
    const valid: Env = { GRPC_PORT: "0", PORT: "0", KEY_TTL: "1s", BLOCK_TTL: "1s", STORE: "redis", MAX_KEYS: "5", LOG_LEVEL: "warn", SHUTDOWN_GRACE: "1s" };
    expect(loadConfig(valid)).to.include({ grpcPort: 0, httpPort: 0, keyTtlMs: 1000, store: "redis", maxKeys: 5, logLevel: "warn" });
    expect(refusal({ ...valid, BLOCK_TTL: "1" })).to.match(/^BLOCK_TTL=/);
    expect(refusal({ ...valid, PORT: "http" })).to.match(/^PORT=/);
  });

  describe("security (AUTH_TOKENS_FILE, ALLOW_UNAUTHENTICATED, TLS_*, RATE_LIMIT)", () => {
    const TOKEN = "c".repeat(24);
    const ADMIN = "a".repeat(24);
    /** A file system of the given files: any other path is ENOENT. */
    const files =
      (contents: Readonly<Record<string, string>>): ReadFile =>
      (path) => {
        const text = contents[path];
        if (text === undefined) throw Object.assign(new Error("no such file"), { code: "ENOENT" });
        return Buffer.from(text);
      };
    const refusedWith = (env: Env, read: ReadFile): string => {
      try {
        loadConfig(env, read);
      } catch (error) {
        expect(error).to.be.instanceOf(ConfigError);
        return (error as Error).message;
      }
      return expect.fail(`accepted ${JSON.stringify(env)}`);
    };

    it("reads the tokens file: roles, names, comments; a token is found only whole and exact", () => {
      const read = files({ "/t": `# who may call\nclient ${TOKEN} worker-1\n\n  admin ${ADMIN}   # ops\n` });
      const tokens = loadConfig({ AUTH_TOKENS_FILE: "/t", HOST: "0.0.0.0" }, read).tokens;
      expect(tokens?.size).to.equal(2);
      expect(tokens?.authenticate(`Bearer ${TOKEN}`)).to.deep.equal({ name: "worker-1", role: "client" });
      expect(tokens?.authenticate(`bearer ${ADMIN}`)?.role).to.equal("admin");
      expect(tokens?.authenticate(`Bearer ${ADMIN}`)?.name).to.match(/^token-[0-9a-f]{12}$/);
      for (const wrong of [undefined, "", TOKEN, `Basic ${TOKEN}`, `Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(1)}`, `Bearer ${TOKEN} extra`]) {
        expect(tokens?.authenticate(wrong), String(wrong)).to.equal(undefined);
      }
    });

    it("refuses a bad tokens file in one line naming AUTH_TOKENS_FILE and the line, never quoting a token", () => {
      const cases: readonly (readonly [string, RegExp])[] = [
        [`root ${TOKEN}`, /line 1: the role must be client or admin/],
        [`# fine\nclient short`, /line 2: the token must be at least 16 characters/],
        [`client ${TOKEN} name extra`, /line 1: expected <role> <token> \[<name>\]/],
        [`client ${TOKEN}\nadmin ${TOKEN}`, /line 2: the same token appears twice/],
        [`client ${TOKEN} w\nadmin ${ADMIN} w`, /line 2: the name w is taken/],
        ["# nothing\n", /no token in the file/],
      ];
      for (const [text, expected] of cases) {
        const message = refusedWith({ AUTH_TOKENS_FILE: "/t" }, files({ "/t": text }));
        expect(message, text).to.match(/^AUTH_TOKENS_FILE="\/t": /).and.match(expected);
        expect(message.split("\n")).to.have.length(1);
        expect(message).not.to.contain(TOKEN);
      }
      expect(refusedWith({ AUTH_TOKENS_FILE: "/missing" }, files({}))).to.equal('AUTH_TOKENS_FILE="/missing": cannot read the file (ENOENT)');
    });

    it("refuses to run open on a non-loopback HOST unless ALLOW_UNAUTHENTICATED=true", () => {
      for (const host of ["0.0.0.0", "::", "10.0.0.7", "example.com"]) {
        expect(refusedWith({ HOST: host }, files({})), host).to.match(/^AUTH_TOKENS_FILE is required when HOST=/);
        expect(loadConfig({ HOST: host, ALLOW_UNAUTHENTICATED: "true" }).tokens).to.equal(undefined);
      }
      for (const host of ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "0:0:0:0:0:0:0:1", "localhost"]) expect(isLoopback(host), host).to.equal(true);
      expectRefused("ALLOW_UNAUTHENTICATED", ["yes", "1", "TRUE"]);
    });

    it("reads TLS files, mutual TLS only on top of TLS", () => {
      const read = files({ "/c": "CERT", "/k": "KEY", "/ca": "CA" });
      const tls = loadConfig({ TLS_CERT_FILE: "/c", TLS_KEY_FILE: "/k", TLS_CLIENT_CA_FILE: "/ca" }, read).tls;
      expect([tls?.cert.toString(), tls?.key.toString(), tls?.clientCa?.toString()]).to.deep.equal(["CERT", "KEY", "CA"]);
      expect(loadConfig({ TLS_CERT_FILE: "/c", TLS_KEY_FILE: "/k" }, read).tls?.clientCa).to.equal(undefined);
      expect(refusedWith({ TLS_CERT_FILE: "/c" }, read)).to.match(/^TLS_KEY_FILE is required with TLS_CERT_FILE/);
      expect(refusedWith({ TLS_KEY_FILE: "/k" }, read)).to.match(/^TLS_CERT_FILE is required with TLS_KEY_FILE/);
      expect(refusedWith({ TLS_CLIENT_CA_FILE: "/ca" }, read)).to.match(/^TLS_CLIENT_CA_FILE needs TLS_CERT_FILE/);
      expect(refusedWith({ TLS_CERT_FILE: "/c", TLS_KEY_FILE: "/nope" }, read)).to.match(/^TLS_KEY_FILE="\/nope": cannot read/);
    });

    it("reads RATE_LIMIT as requests a second above 0; unset is no limit", () => {
      expectRead("RATE_LIMIT", "rateLimit", [["50", 50], ["0.5", 0.5], ["", undefined]]);
      expectRefused("RATE_LIMIT", ["0", "-1", "ten", "1e3", "5/s", "2000000"]);
    });
  });
});
