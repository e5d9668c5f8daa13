import { createServer } from "node:net";
import { expect } from "chai";
import { KeyState } from "../../clients";
import { buildFirst } from "../support/build";
import { runCliInProcess, spawnCli } from "../support/cli";
import { failedWith, okJson } from "../support/cli-output";
import { startHarness, type Harness } from "../support/harness";
import type { RunResult } from "../support/run";

/**
 * `token-orchestrator`, the CLI, against a live server started in this process: every
 * command, its JSON, its exit status and its stderr, run in-process through the function
 * the bin calls (`runCliInProcess`); `watch` and its signals as a real subprocess. The bin
 * itself (help, version, `npx`) is in cli-bin.test.ts, tokens and TLS in cli-security.test.ts.
 */

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
const KEY_ID = /^[A-Za-z0-9_-]{22}$/;

/** Milliseconds from now until the RFC 3339 instant `text`. */
const fromNow = (text: unknown): number => Date.parse(String(text)) - Date.now();

describe("token-orchestrator, the CLI", function () {
  this.timeout(60_000);
  buildFirst();

  describe("against an open server", () => {
    let h: Harness;
    let address: string;
    /** `token-orchestrator --address <the harness> ...args` */
    const cli = (...args: string[]): Promise<RunResult> => runCliInProcess(["--address", address, ...args]);
    /** Calls that reached the service (one "call" log line each). */
    const calls = (): number => h.logs.filter((line) => line["msg"] === "call").length;

    beforeEach(async () => {
      h = await startHarness();
      address = h.app.grpcAddress;
    });
    afterEach(() => h.close());

    it("create prints keyId, expiresAt and the granted ttl as protojson durations", async () => {
      const created = okJson(await cli("create"));
      expect(Object.keys(created)).to.deep.equal(["keyId", "expiresAt", "ttl"]);
      expect(created["keyId"]).to.match(KEY_ID);
      expect(created["expiresAt"]).to.match(RFC3339);
      expect(created["ttl"]).to.equal("300s"); // KEY_TTL's default
      expect(fromNow(created["expiresAt"])).to.be.within(295_000, 300_000);
      expect(okJson(await cli("create", "--ttl", "1m30s"))["ttl"]).to.equal("90s");
      expect(okJson(await cli("create", "--ttl", "1.5s"))["ttl"]).to.equal("1.500s");
      expect(okJson(await cli("create", "--ttl", "250ms"))["ttl"], "clamped to 1 s").to.equal("1s");
      expect((await h.client.stats({})).total).to.equal(4);
    });

    it("acquire prints keyId, releaseAt and the lease as a string; with no key available, NOT_FOUND and exit 1", async () => {
      const { keyId } = await h.client.create({});
      const acquired = okJson(await cli("acquire", "--block-ttl", "90s"));
      expect(Object.keys(acquired)).to.deep.equal(["keyId", "releaseAt", "lease"]);
      expect(acquired["keyId"]).to.equal(keyId);
      expect(acquired["lease"]).to.equal("1");
      expect(fromNow(acquired["releaseAt"])).to.be.within(85_000, 90_000);
      failedWith(await cli("acquire"), "NOT_FOUND: no key is available");
    });

    it("acquire --wait waits for a key, and --timeout runs on top of the wait", async () => {
      const acquiring = cli("acquire", "--wait", "4s", "--timeout", "1s");
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      const { keyId } = await h.client.create({});
      const acquired = okJson(await acquiring);
      expect(acquired["keyId"]).to.equal(keyId);
      expect((await h.client.get({ keyId })).state).to.equal(KeyState.LEASED);
    });

    it("get KEY_ID prints the key's state, every field at its zero value present, unset timestamps absent; an unknown id is NOT_FOUND", async () => {
      const { keyId } = await h.client.create({ ttl: { seconds: 600, nanos: 0 } });
      const available = okJson(await cli("get", keyId));
      expect(Object.keys(available)).to.deep.equal(["isBlocked", "createdAt", "expiresAt", "state", "ttl"]);
      expect(available).to.deep.include({ isBlocked: false, state: "AVAILABLE", ttl: "600s" });
      const { lease } = await h.client.acquire({});
      const leased = okJson(await cli("get", keyId));
      expect(Object.keys(leased)).to.deep.equal(["isBlocked", "blockedAt", "createdAt", "expiresAt", "releaseAt", "state", "ttl", "lease"]);
      expect(leased).to.deep.include({ isBlocked: true, state: "LEASED", ttl: "600s", lease: String(lease) });
      for (const field of ["blockedAt", "createdAt", "expiresAt", "releaseAt"]) expect(leased[field], field).to.match(RFC3339);
      failedWith(await cli("get", "no-such-key"), "NOT_FOUND: key not found");
    });

    it("keepalive KEY_ID renews the lifetime; with --lease the hold too; a lease not current is ABORTED", async () => {
      const { keyId } = await h.client.create({ ttl: { seconds: 600, nanos: 0 } });
      expect(Object.keys(okJson(await cli("keepalive", keyId)))).to.deep.equal(["expiresAt"]);
      const { lease } = await h.client.acquire({ blockTtl: { seconds: 90, nanos: 0 } });
      const renewed = okJson(await cli("keepalive", keyId, "--lease", String(lease)));
      expect(Object.keys(renewed)).to.deep.equal(["expiresAt", "releaseAt"]);
      expect(fromNow(renewed["expiresAt"])).to.be.within(595_000, 600_000);
      expect(fromNow(renewed["releaseAt"])).to.be.within(85_000, 90_000);
      failedWith(await cli("keepalive", keyId, "--lease", String(lease + 1)), "ABORTED: the lease is not the key's current lease");
    });

    it("release KEY_ID --lease N prints {}; a wrong lease is ABORTED (exit 1) and changes nothing; --cooldown leaves it COOLING", async () => {
      const { keyId } = await h.client.create({});
      const { lease } = await h.client.acquire({});
      failedWith(await cli("release", keyId, "--lease", String(lease + 7)), "ABORTED: the lease is not the key's current lease");
      expect((await h.client.get({ keyId })).state).to.equal(KeyState.LEASED);
      const released = await cli("release", keyId, "--lease", String(lease), "--cooldown", "30s");
      expect(okJson(released)).to.deep.equal({});
      expect(released.stdout).to.equal("{}\n");
      const cooling = await h.client.get({ keyId });
      expect(cooling.state).to.equal(KeyState.COOLING);
      expect((cooling.releaseAt?.getTime() ?? 0) - Date.now()).to.be.within(25_000, 30_000);
      // Without a lease, as in v1: any caller may release a leased key.
      const second = await h.client.create({});
      await h.client.acquire({});
      expect(okJson(await cli("release", second.keyId))).to.deep.equal({});
      expect((await h.client.get({ keyId: second.keyId })).state).to.equal(KeyState.AVAILABLE);
    });

    it("delete KEY_ID prints {} and the key is gone", async () => {
      const { keyId } = await h.client.create({});
      expect((await cli("delete", keyId)).stdout).to.equal("{}\n");
      failedWith(await cli("get", keyId), "NOT_FOUND: key not found");
      failedWith(await cli("delete", keyId), "NOT_FOUND: key not found");
    });

    it("stats prints the counts by state, zeros included", async () => {
      expect(okJson(await cli("stats"))).to.deep.equal({ total: 0, available: 0, leased: 0, cooling: 0 });
      for (let i = 0; i < 3; i++) await h.client.create({});
      const { keyId, lease } = await h.client.acquire({});
      expect(okJson(await cli("stats"))).to.deep.equal({ total: 3, available: 2, leased: 1, cooling: 0 });
      await h.client.release({ keyId, lease, cooldown: { seconds: 60, nanos: 0 } });
      expect(okJson(await cli("stats"))).to.deep.equal({ total: 3, available: 2, leased: 0, cooling: 1 });
    });

    it("list prints a page; --page-token follows one; --all follows every page with --page-size 2; --state filters", async () => {
      const ids = new Set<string>();
      for (let i = 0; i < 5; i++) ids.add((await h.client.create({})).keyId);
      const { keyId: leasedId } = await h.client.acquire({});

      const whole = okJson(await cli("list"));
      expect(Object.keys(whole)).to.deep.equal(["keys", "nextPageToken"]);
      expect(whole["nextPageToken"]).to.equal("");
      const keys = whole["keys"] as Record<string, unknown>[];
      expect(new Set(keys.map((key) => key["keyId"]))).to.deep.equal(ids);
      expect(Object.keys(keys.find((key) => key["keyId"] !== leasedId) ?? {})).to.deep.equal(["keyId", "isBlocked", "createdAt", "expiresAt", "state", "ttl"]);

      // Page by page by hand, as the help says: nextPageToken into --page-token until it is "".
      const paged: unknown[] = [];
      let pages = 0;
      for (let token: unknown = undefined; token !== ""; pages++) {
        const page = okJson(await cli("list", "--page-size", "2", ...(token === undefined ? [] : ["--page-token", String(token)])));
        const pageKeys = page["keys"] as Record<string, unknown>[];
        expect(pageKeys.length).to.be.at.most(2);
        paged.push(...pageKeys.map((key) => key["keyId"]));
        token = page["nextPageToken"];
      }
      expect(pages).to.be.at.least(3);
      expect(new Set(paged)).to.deep.equal(ids);
      expect(paged).to.have.length(5);

      const all = okJson(await cli("list", "--all", "--page-size", "2"));
      expect(all["nextPageToken"]).to.equal("");
      const allIds = (all["keys"] as Record<string, unknown>[]).map((key) => key["keyId"]);
      expect(allIds).to.have.length(5);
      expect(new Set(allIds)).to.deep.equal(ids);

      const leased = okJson(await cli("list", "--state", "LEASED"))["keys"] as Record<string, unknown>[];
      expect(leased.map((key) => [key["keyId"], key["state"]])).to.deep.equal([[leasedId, "LEASED"]]);
      expect((okJson(await cli("list", "--state", "available", "--all", "--page-size", "1"))["keys"] as unknown[]).length).to.equal(4);
    });

    it("watch prints one JSON line per event as it happens, and exits 0 on SIGINT", async () => {
      const first = await h.client.create({});
      // From revision 1: the event before the watch started too, so no race with its subscription.
      const watching = spawnCli(["--address", address, "watch", "--start-revision", "1"]);
      try {
        expect(JSON.parse((await watching.nextLines(1))[0] as string)).to.deep.include({ revision: "1", type: "CREATED", keyId: first.keyId });
        const second = await h.client.create({});
        const { lease } = await h.client.acquire({ blockTtl: { seconds: 60, nanos: 0 } });
        const lines = (await watching.nextLines(2)).map((line) => JSON.parse(line) as Record<string, unknown>);
        expect(lines[0]).to.deep.include({ revision: "2", type: "CREATED", keyId: second.keyId });
        expect(Object.keys(lines[1] ?? {})).to.deep.equal(["revision", "type", "keyId", "at", "lease"]);
        expect(lines[1]).to.deep.include({ revision: "3", type: "ACQUIRED", lease: String(lease) });
        expect(lines[1]?.["at"]).to.match(RFC3339);
      } finally {
        watching.child.kill("SIGINT");
      }
      expect(await watching.exited).to.deep.equal({ code: 0, signal: null, stderr: "" });
    });

    it("watch exits 0 on SIGTERM too", async () => {
      await h.client.create({});
      const watching = spawnCli(["--address", address, "watch", "--start-revision", "1"]);
      await watching.nextLines(1);
      watching.child.kill("SIGTERM");
      expect(await watching.exited).to.deep.equal({ code: 0, signal: null, stderr: "" });
    });

    it("a key id that begins with '-' is read as a key id, as it is or after --", async () => {
      let keyId = "";
      // 1 id in 64 begins with "-": 2000 tries all miss with a chance of 2e-14.
      for (let i = 0; i < 2000 && !keyId.startsWith("-"); i++) keyId = (await h.client.create({})).keyId;
      expect(keyId).to.match(/^-/);
      expect(okJson(await cli("get", keyId))["state"]).to.equal("AVAILABLE");
      expect(okJson(await cli("get", "--", keyId))["state"]).to.equal("AVAILABLE");
      expect(okJson(await cli("keepalive", keyId, "--address", address))).to.have.property("expiresAt");
      failedWith(await cli("get", "-AAAAAAAAAAAAAAAAAAAAA"), "NOT_FOUND: key not found");
    });

    it("takes the address from TOKEN_ORCHESTRATOR_ADDRESS, --address winning over it", async () => {
      expect(okJson(await runCliInProcess(["stats"], { TOKEN_ORCHESTRATOR_ADDRESS: address }))).to.have.property("total", 0);
      const closed = await closedPort();
      expect(okJson(await runCliInProcess(["stats", "--address", address], { TOKEN_ORCHESTRATOR_ADDRESS: closed }))).to.have.property("total", 0);
      failedWith(await runCliInProcess(["stats", "--timeout", "5s"], { TOKEN_ORCHESTRATOR_ADDRESS: closed }), /^UNAVAILABLE: .+\n$/);
    });

    describe("usage errors: exit 2, the reason on stderr, nothing sent", () => {
      const cases: readonly (readonly [string[], string])[] = [
        [[], "token-orchestrator: no command given"],
        [["bogus"], 'token-orchestrator: unknown command "bogus" (commands: create, acquire, get, release, keepalive, delete, stats, list, watch)'],
        [["get"], "token-orchestrator: get takes KEY_ID, got none"],
        [["get", "a", "b"], 'token-orchestrator: get takes KEY_ID, got "a" "b"'],
        [["stats", "extra"], 'token-orchestrator: stats takes no operands, got "extra"'],
        [["create", "--ttl", "10"], 'token-orchestrator: --ttl: "10" is not a duration (examples: 600s, 1.5s, 250ms, 1m30s)'],
        [["create", "--ttl", "-5s"], 'token-orchestrator: --ttl: "-5s": write a duration without a sign (none of these may be negative)'],
        [["acquire", "--wait", "5 s"], 'token-orchestrator: --wait: "5 s" is not a duration (examples: 600s, 1.5s, 250ms, 1m30s)'],
        [["get", "k", "--ttl", "5s"], "token-orchestrator: get: Unknown option '--ttl'."],
        [["release", "k", "--lease", "1.5"], 'token-orchestrator: --lease: "1.5" is not a whole number from 0 to 9007199254740991'],
        [["list", "--state", "BUSY"], 'token-orchestrator: --state: "BUSY" is not one of AVAILABLE, LEASED, COOLING'],
        [["list", "--all=yes"], "token-orchestrator: list: Option '--all' does not take an argument"],
        [["stats", "--timeout", "0s"], "token-orchestrator: --timeout: must be more than 0"],
        [["stats", "--tls-cert", "client.pem"], "token-orchestrator: --tls-cert and --tls-key go together"],
        [["stats", "--tls-ca", "/nonexistent/ca.pem"], 'token-orchestrator: --tls-ca: cannot read "/nonexistent/ca.pem" (ENOENT)'],
        [["stats", "--token"], "token-orchestrator: stats: Option '--token <value>' argument missing"],
      ];
      for (const [args, message] of cases) {
        it(`${JSON.stringify(args.join(" "))} → ${message.replace(/^token-orchestrator: /, "")}`, async () => {
          const result = await runCliInProcess(["--address", address, ...args]);
          const command = args[0] !== undefined && !args[0].startsWith("-") && args[0] !== "bogus" ? ` ${args[0]}` : "";
          expect(result.stderr).to.equal(`${message}\nRun 'token-orchestrator${command} --help' for usage.\n`);
          expect(result.stdout).to.equal("");
          expect(result.code).to.equal(2);
          expect(calls(), "a call reached the service").to.equal(0);
        });
      }
    });
  });

  describe("a server error during watch", () => {
    it("exits 1 with the code name: OUT_OF_RANGE for a revision no longer retained", async () => {
      const h = await startHarness({ env: { WATCH_RETENTION: "2" } });
      try {
        for (let i = 0; i < 5; i++) await h.client.create({});
        const result = await runCliInProcess(["watch", "--start-revision", "1", "--address", h.app.grpcAddress]);
        failedWith(result, /^OUT_OF_RANGE: the revision asked for is no longer retained.*\n$/);
      } finally {
        await h.close();
      }
    });
  });
});

/** An address nothing listens on: a port the OS gave out and took back. */
async function closedPort(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `127.0.0.1:${port}`;
}
