import { expect } from "chai";
import { KeyState } from "../../clients";
import { type Invocation, parseCommandLine } from "../../src/cli/args";
import { COMMANDS } from "../../src/cli/commands";
import { UsageError } from "../../src/cli/errors";
import { GLOBAL_OPTIONS, protectDashValues } from "../../src/cli/options";
import { parseDuration } from "../../src/cli/values";

/**
 * The CLI's command-line reading, in process: durations, options that begin with "-",
 * and the request each command line becomes. The subprocess suite
 * (test/integration/cli.test.ts) runs the same lines against a server.
 */

const call = (argv: readonly string[], env: Readonly<Record<string, string>> = {}): Extract<Invocation, { kind: "call" }> => {
  const invocation = parseCommandLine(argv, env);
  if (invocation.kind !== "call") throw new Error(`expected a call, got ${invocation.kind}`);
  return invocation;
};

const usageError = (argv: readonly string[]): string => {
  try {
    parseCommandLine(argv, {});
  } catch (error) {
    if (error instanceof UsageError) return error.message;
    throw error;
  }
  throw new Error(`expected a usage error for ${JSON.stringify(argv)}`);
};

describe("CLI command lines", () => {
  describe("durations, as Go writes them, into google.protobuf.Duration", () => {
    it("reads every unit, fractions and sequences exactly", () => {
      const cases: readonly (readonly [string, number, number])[] = [
        ["600s", 600, 0],
        ["1.5s", 1, 500_000_000],
        ["250ms", 0, 250_000_000],
        ["1m30s", 90, 0],
        ["2h45m", 9_900, 0],
        ["0", 0, 0],
        ["0s", 0, 0],
        [".5s", 0, 500_000_000],
        ["1.s", 1, 0],
        ["250us", 0, 250_000],
        ["250µs", 0, 250_000],
        ["7ns", 0, 7],
        ["1h1m1s1ms1us1ns", 3_661, 1_001_001],
        ["0.1ms", 0, 100_000],
        ["2562047h", 9_223_369_200, 0],
      ];
      for (const [text, seconds, nanos] of cases) expect(parseDuration("ttl", text), text).to.deep.equal({ seconds, nanos });
    });

    it("refuses what is not a Go duration, signs, and more than Go's 292 years", () => {
      for (const text of ["", "5", "s", "5 s", "5sec", "1d", "5S", "1e3s", "-5s", "+5s", "-0", "1h-30m", "abc", "1..5s", "300000000h"]) {
        expect(() => parseDuration("ttl", text), text).to.throw(UsageError, /^--ttl: /);
      }
    });
  });

  it("gives each option name one type across commands, none shadowing a global one (the first pass reads them all at once)", () => {
    const types = new Map<string, string>();
    for (const command of COMMANDS) {
      for (const [name, spec] of Object.entries(command.options)) {
        expect(Object.keys(GLOBAL_OPTIONS), `${command.name} --${name}`).not.to.include(name);
        expect(types.get(name) ?? spec.type, `${command.name} --${name}`).to.equal(spec.type);
        types.set(name, spec.type);
      }
    }
  });

  describe("values that begin with '-'", () => {
    it("keeps a string option's value with it, and moves a key id behind --", () => {
      const specs = { ...GLOBAL_OPTIONS, "page-token": { type: "string", help: "" }, all: { type: "boolean", help: "" } } as const;
      expect(protectDashValues(["list", "--page-token", "-abc"], specs)).to.deep.equal(["list", "--page-token=-abc"]);
      expect(protectDashValues(["get", "-AbCdEfGhIjKlMnOpQrStU", "--address", "h:1"], specs)).to.deep.equal(["get", "--address", "h:1", "--", "-AbCdEfGhIjKlMnOpQrStU"]);
      expect(protectDashValues(["get", "--AbCdEfGhIjKlMnOpQrSt"], specs)).to.deep.equal(["get", "--", "--AbCdEfGhIjKlMnOpQrSt"]);
      expect(protectDashValues(["get", "--", "-x"], specs)).to.deep.equal(["get", "--", "-x"]);
      // A declared option is never taken for a value: parseArgs reports the missing value.
      expect(protectDashValues(["stats", "--address", "--token", "T"], specs)).to.deep.equal(["stats", "--address", "--token", "T"]);
      expect(protectDashValues(["list", "--all", "-h"], specs)).to.deep.equal(["list", "--all", "-h"]);
      // Not a key id's shape: left for parseArgs to refuse as an unknown option.
      expect(protectDashValues(["get", "-x"], specs)).to.deep.equal(["get", "-x"]);
    });
  });

  describe("requests", () => {
    it("builds each command's request, only with the fields given", () => {
      expect(call(["create"]).prepared.request).to.deep.equal({});
      expect(call(["create", "--ttl", "10m"]).prepared.request).to.deep.equal({ ttl: { seconds: 600, nanos: 0 } });
      expect(call(["acquire", "--block-ttl", "90s", "--wait", "1.5s"]).prepared.request).to.deep.equal({
        blockTtl: { seconds: 90, nanos: 0 },
        wait: { seconds: 1, nanos: 500_000_000 },
      });
      expect(call(["get", "K"]).prepared.request).to.deep.equal({ keyId: "K" });
      expect(call(["release", "K", "--lease", "7", "--cooldown", "30s"]).prepared.request).to.deep.equal({
        keyId: "K",
        lease: 7,
        cooldown: { seconds: 30, nanos: 0 },
      });
      expect(call(["keepalive", "K", "--lease", "0"]).prepared.request).to.deep.equal({ keyId: "K", lease: 0 });
      expect(call(["delete", "K"]).prepared.request).to.deep.equal({ keyId: "K" });
      expect(call(["stats"]).prepared.request).to.deep.equal({});
      expect(call(["list", "--page-size", "2", "--page-token", "T", "--state", "cooling", "--all"]).prepared.request).to.deep.equal({
        request: { pageSize: 2, pageToken: "T", state: KeyState.COOLING },
        all: true,
      });
      expect(call(["watch", "--start-revision", "12"]).prepared.request).to.deep.equal({ startRevision: 12 });
    });

    it("takes global options before or after the command, and falls back to the environment", () => {
      const before = call(["--address", "a:1", "--timeout", "2.5s", "get", "K"]);
      const after = call(["get", "K", "--address", "a:1", "--timeout", "2.5s"]);
      expect(before.connection).to.deep.equal(after.connection);
      expect(before.connection).to.deep.equal({ address: "a:1", token: undefined, tls: undefined, timeoutMs: 2_500 });
      expect(call(["stats"]).connection).to.deep.equal({ address: "127.0.0.1:50051", token: undefined, tls: undefined, timeoutMs: 10_000 });
      const env = { TOKEN_ORCHESTRATOR_ADDRESS: "e:2", TOKEN_ORCHESTRATOR_TOKEN: "from-env" };
      expect(call(["stats"], env).connection).to.include({ address: "e:2", token: "from-env" });
      expect(call(["stats", "--address", "o:3", "--token", "from-flag"], env).connection).to.include({ address: "o:3", token: "from-flag" });
      expect(call(["stats"], { TOKEN_ORCHESTRATOR_ADDRESS: "", TOKEN_ORCHESTRATOR_TOKEN: "" }).connection).to.include({ address: "127.0.0.1:50051", token: undefined });
    });

    it("turns on TLS with --tls, --tls-ca or a client certificate", () => {
      expect(call(["stats", "--tls"]).connection.tls).to.deep.equal({ caFile: undefined, certFile: undefined, keyFile: undefined });
      expect(call(["stats", "--tls-ca", "ca.pem"]).connection.tls).to.deep.equal({ caFile: "ca.pem", certFile: undefined, keyFile: undefined });
      expect(call(["stats", "--tls-cert", "c.pem", "--tls-key", "k.pem"]).connection.tls).to.deep.equal({ caFile: undefined, certFile: "c.pem", keyFile: "k.pem" });
    });

    it("answers help and version before reading anything else", () => {
      expect(parseCommandLine(["--help"], {})).to.deep.equal({ kind: "help", command: undefined });
      expect(parseCommandLine(["-h", "--bogus"], {})).to.deep.equal({ kind: "help", command: undefined });
      expect(parseCommandLine(["release", "--help"], {})).to.include({ kind: "help" }).and.have.nested.property("command.name", "release");
      expect(parseCommandLine(["help", "list"], {})).to.have.nested.property("command.name", "list");
      expect(parseCommandLine(["--version"], {})).to.deep.equal({ kind: "version" });
    });

    it("refuses what no command takes", () => {
      expect(usageError([])).to.equal("no command given");
      expect(usageError(["help", "nope"])).to.match(/^unknown command "nope"/);
      expect(usageError(["create", "--lease", "3"])).to.equal("create: Unknown option '--lease'.");
      expect(usageError(["release", "K", "--lease", "9007199254740992"])).to.match(/^--lease: "9007199254740992" is not a whole number/);
      expect(usageError(["list", "--page-size", "4294967296"])).to.match(/^--page-size: /);
      expect(usageError(["stats", "--tls-key", "k.pem"])).to.equal("--tls-cert and --tls-key go together");
      expect(usageError(["stats", "--address", ""])).to.equal("--address: empty");
    });
  });
});
