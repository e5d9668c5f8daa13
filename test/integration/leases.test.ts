import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { Code, createTokenClient, type GetResponse, KeyState, type TokenClient } from "../../clients";
import type { Duration } from "../../clients/generated/google/protobuf/duration";
import { codeOf } from "../support/grpc-code";
import { startHarness, type Harness } from "../support/harness";
import { httpRequest, type HttpResponse } from "../support/http-request";
import { ManualClock } from "../support/manual-clock";

/**
 * The v2 lease fields ("Leases" and "Inspection" in the API contract) over REST and
 * gRPC, on the memory store with a manual clock: every instant asserted is exact.
 */

const T0 = Date.UTC(2026, 10, 25, 14, 3, 7, 123);
const SECOND = 1000;
const MINUTE = 60 * SECOND;
const KEY_TTL = 5 * MINUTE;
const BLOCK_TTL = 60 * SECOND;
const MAX_KEY_TTL = 10 * MINUTE;
const MAX_BLOCK_TTL = 2 * MINUTE;
const ENV = { KEY_TTL: "5m", BLOCK_TTL: "60s", MAX_KEY_TTL: "10m", MAX_BLOCK_TTL: "2m" };

const iso = (ms: number): string => new Date(ms).toISOString();
const at = (ms: number): Date => new Date(ms);
const seconds = (s: number, nanos = 0): Duration => ({ seconds: s, nanos });

type Json = Record<string, unknown>;

/** A success answer: exact status, application/json, the body parsed. */
function ok(res: HttpResponse, status = 200): Json {
  expect(res.status, res.text).to.equal(status);
  expect(res.mediaType, res.text).to.equal("application/json");
  return res.json() as Json;
}

/** The error body {"code", "message", "details": []} with this HTTP status and gRPC code. */
function expectError(res: HttpResponse, status: number, code: number): void {
  expect(res.status, res.text).to.equal(status);
  expect(res.mediaType, res.text).to.equal("application/json");
  const body = res.json() as Json;
  expect(Object.keys(body), res.text).to.deep.equal(["code", "message", "details"]);
  expect(body["code"], res.text).to.equal(code);
  expect(body["message"]).to.be.a("string").and.not.equal("");
  expect(body["details"]).to.deep.equal([]);
}

/** A lease as REST writes it: protojson's uint64, a JSON string of digits. */
function leaseOf(body: Json): bigint {
  const lease = body["lease"];
  expect(lease, JSON.stringify(body)).to.be.a("string").and.match(/^[1-9][0-9]*$/);
  return BigInt(lease as string);
}

describe("leases (v2): lifetimes, holds, fencing, cooldowns, inspection (memory store, manual clock)", function () {
  this.timeout(10_000);
  const clock = new ManualClock();
  let h: Harness;

  const rest = (method: string, path: string, body?: string): Promise<HttpResponse> =>
    httpRequest(h.app.httpAddress, path, { method, ...(body === undefined ? {} : { body, headers: { "content-type": "application/json" } }) });

  /** A new key over gRPC, at the default lifetime. */
  const newKey = async (): Promise<string> => (await h.client.create({})).keyId;

  beforeEach(async () => {
    clock.set(T0);
    h = await startHarness({ clock, env: ENV });
  });
  afterEach(() => h.close());

  describe("Create with a ttl", () => {
    it("gRPC: echoes the granted ttl and expiresAt = now + ttl; Get shows the ttl", async () => {
      const created = await h.client.create({ ttl: seconds(600) });
      expect(created.expiresAt).to.deep.equal(at(T0 + 600 * SECOND));
      expect(created.ttl).to.deep.equal(seconds(600));
      const fraction = await h.client.create({ ttl: seconds(1, 500_000_000) });
      expect(fraction.expiresAt).to.deep.equal(at(T0 + 1500));
      expect(fraction.ttl).to.deep.equal(seconds(1, 500_000_000));
      const state = await h.client.get({ keyId: created.keyId });
      expect(state.ttl).to.deep.equal(seconds(600));
      expect(state.expiresAt).to.deep.equal(at(T0 + 600 * SECOND));
    });

    it("gRPC: unset means KEY_TTL; clamped to [1s, MAX_KEY_TTL]; negative is INVALID_ARGUMENT", async () => {
      const plain = await h.client.create({});
      expect(plain.ttl).to.deep.equal(seconds(KEY_TTL / SECOND));
      expect(plain.expiresAt).to.deep.equal(at(T0 + KEY_TTL));
      const zero = await h.client.create({ ttl: seconds(0) });
      expect(zero.ttl).to.deep.equal(seconds(1));
      expect(zero.expiresAt).to.deep.equal(at(T0 + SECOND));
      const half = await h.client.create({ ttl: seconds(0, 500_000_000) });
      expect(half.ttl).to.deep.equal(seconds(1));
      const long = await h.client.create({ ttl: seconds(20 * 60) });
      expect(long.ttl).to.deep.equal(seconds(MAX_KEY_TTL / SECOND));
      expect(long.expiresAt).to.deep.equal(at(T0 + MAX_KEY_TTL));
      expect(await codeOf(h.client.create({ ttl: seconds(-1) }))).to.equal(Code.INVALID_ARGUMENT);
      expect((await h.client.stats({})).total, "a refused Create makes no key").to.equal(4);
    });

    it('REST: body {"ttl":"600s"} and {"ttl":"1.5s"} echo ttl and expiresAt (protojson durations)', async () => {
      const body = ok(await rest("POST", "/keys", '{"ttl":"600s"}'), 201);
      expect(Object.keys(body)).to.deep.equal(["keyId", "expiresAt", "ttl"]);
      expect(body).to.include({ expiresAt: iso(T0 + 600 * SECOND), ttl: "600s" });
      // protojson writes a fraction with 3, 6 or 9 digits (Go's and protobuf-es's encoders alike).
      expect(ok(await rest("POST", "/keys", '{"ttl":"1.5s"}'), 201)).to.include({ expiresAt: iso(T0 + 1500), ttl: "1.500s" });
      const keyId = body["keyId"] as string;
      expect(ok(await rest("GET", `/keys/${keyId}`))).to.include({ ttl: "600s", expiresAt: iso(T0 + 600 * SECOND) });
    });

    it('REST: "0s" → "1s", "1200s" → "600s" (MAX_KEY_TTL 10m); no body → KEY_TTL', async () => {
      expect(ok(await rest("POST", "/keys", '{"ttl":"0s"}'), 201)).to.include({ ttl: "1s", expiresAt: iso(T0 + SECOND) });
      expect(ok(await rest("POST", "/keys", '{"ttl":"1200s"}'), 201)).to.include({ ttl: "600s", expiresAt: iso(T0 + MAX_KEY_TTL) });
      expect(ok(await rest("POST", "/keys"), 201)).to.include({ ttl: "300s", expiresAt: iso(T0 + KEY_TTL) });
    });

    it("REST: a negative ttl or a malformed one (not protojson) → 400 INVALID_ARGUMENT, no key made", async () => {
      expectError(await rest("POST", "/keys", '{"ttl":"-1s"}'), 400, Code.INVALID_ARGUMENT);
      expectError(await rest("POST", "/keys", '{"ttl":"abc"}'), 400, Code.INVALID_ARGUMENT);
      // JSON bodies take protojson's form only: Go syntax is for query parameters.
      expectError(await rest("POST", "/keys", '{"ttl":"20m"}'), 400, Code.INVALID_ARGUMENT);
      expectError(await rest("POST", "/keys", '{"ttl":600}'), 400, Code.INVALID_ARGUMENT);
      expect(ok(await rest("GET", "/stats"))).to.deep.equal({ total: 0, available: 0, leased: 0, cooling: 0 });
    });

    it("KeepAlive renews to now + the key's own ttl (gRPC and REST)", async () => {
      const custom = (await h.client.create({ ttl: seconds(600) })).keyId;
      const plain = await newKey();
      clock.advance(100 * SECOND);
      const now = clock.now();
      expect(await h.client.keepAlive({ keyId: custom })).to.deep.equal({ expiresAt: at(now + 600 * SECOND), releaseAt: undefined });
      expect(await h.client.keepAlive({ keyId: plain })).to.deep.equal({ expiresAt: at(now + KEY_TTL), releaseAt: undefined });
      clock.advance(7 * SECOND);
      const later = clock.now();
      expect(ok(await rest("PUT", `/keepalive/${custom}`))).to.deep.equal({ expiresAt: iso(later + 600 * SECOND), releaseAt: null });
      expect((await h.client.get({ keyId: custom })).expiresAt).to.deep.equal(at(later + 600 * SECOND));
      // And the key lives exactly that long.
      clock.set(later + 600 * SECOND - 1);
      expect((await h.client.get({ keyId: custom })).state).to.equal(KeyState.AVAILABLE);
      clock.advance(1);
      expect(await codeOf(h.client.get({ keyId: custom }))).to.equal(Code.NOT_FOUND);
    });
  });

  describe("Acquire with a block_ttl", () => {
    it("REST ?blockTtl=30s, 1m30s, 1500ms: releaseAt = now + the hold, lease a string of digits, strictly increasing", async () => {
      for (let i = 0; i < 3; i += 1) await newKey();
      clock.advance(3 * SECOND);
      const now = clock.now();
      const leases: bigint[] = [];
      for (const [query, holdMs] of [
        ["30s", 30 * SECOND],
        ["1m30s", 90 * SECOND],
        ["1500ms", 1500],
      ] as const) {
        const body = ok(await rest("GET", `/keys?blockTtl=${query}`));
        expect(Object.keys(body)).to.deep.equal(["keyId", "releaseAt", "lease"]);
        expect(body["releaseAt"], query).to.equal(iso(now + holdMs));
        leases.push(leaseOf(body));
        const state = ok(await rest("GET", `/keys/${body["keyId"] as string}`));
        expect(state).to.include({ state: "LEASED", isBlocked: true, blockedAt: iso(now), releaseAt: iso(now + holdMs), lease: body["lease"] });
      }
      for (let i = 1; i < leases.length; i += 1) expect(leases[i] as bigint > (leases[i - 1] as bigint), `${leases.join(", ")}`).to.equal(true);
    });

    it("leases grow strictly across REST and gRPC acquires, releases and re-acquires of the same key", async () => {
      const keyId = await newKey();
      let last = 0n;
      for (let i = 0; i < 6; i += 1) {
        let lease: bigint;
        if (i % 2 === 0) {
          const body = ok(await rest("GET", "/keys"));
          expect(body["keyId"]).to.equal(keyId);
          lease = leaseOf(body);
        } else {
          const acquired = await h.client.acquire({});
          expect(acquired.keyId).to.equal(keyId);
          lease = BigInt(acquired.lease);
        }
        expect(lease > last, `lease ${lease} after ${last}`).to.equal(true);
        last = lease;
        await h.client.release({ keyId });
      }
    });

    it("gRPC: unset means BLOCK_TTL; clamped to [1s, MAX_BLOCK_TTL]", async () => {
      for (let i = 0; i < 4; i += 1) await newKey();
      const plain = await h.client.acquire({});
      expect(plain.releaseAt).to.deep.equal(at(T0 + BLOCK_TTL));
      expect(plain.lease).to.be.greaterThan(0);
      expect((await h.client.acquire({ blockTtl: seconds(300) })).releaseAt).to.deep.equal(at(T0 + MAX_BLOCK_TTL));
      expect((await h.client.acquire({ blockTtl: seconds(0) })).releaseAt).to.deep.equal(at(T0 + SECOND));
      expect((await h.client.acquire({ blockTtl: seconds(0, 100_000_000) })).releaseAt).to.deep.equal(at(T0 + SECOND));
    });

    it("REST: clamped too (?blockTtl=5m → 2m, ?blockTtl=0 → 1s, ?blockTtl=100ms → 1s); unset → BLOCK_TTL", async () => {
      for (let i = 0; i < 4; i += 1) await newKey();
      expect(ok(await rest("GET", "/keys?blockTtl=5m"))["releaseAt"]).to.equal(iso(T0 + MAX_BLOCK_TTL));
      expect(ok(await rest("GET", "/keys?blockTtl=0"))["releaseAt"]).to.equal(iso(T0 + SECOND));
      expect(ok(await rest("GET", "/keys?blockTtl=100ms"))["releaseAt"]).to.equal(iso(T0 + SECOND));
      expect(ok(await rest("GET", "/keys"))["releaseAt"]).to.equal(iso(T0 + BLOCK_TTL));
    });

    it("a bad or negative block_ttl → INVALID_ARGUMENT (400), and nothing is leased", async () => {
      await newKey();
      for (const bad of ["abc", "30", "1x", "-1s", "%20"]) expectError(await rest("GET", `/keys?blockTtl=${bad}`), 400, Code.INVALID_ARGUMENT);
      expect(await codeOf(h.client.acquire({ blockTtl: seconds(-1) }))).to.equal(Code.INVALID_ARGUMENT);
      expect(await h.client.stats({})).to.deep.equal({ total: 1, available: 1, leased: 0, cooling: 0 });
    });
  });

  describe("fencing", () => {
    it("Release with the current lease works (gRPC and REST ?lease=N)", async () => {
      const keyId = await newKey();
      const first = await h.client.acquire({});
      await h.client.release({ keyId, lease: first.lease });
      expect((await h.client.get({ keyId })).state).to.equal(KeyState.AVAILABLE);
      const second = leaseOf(ok(await rest("GET", "/keys")));
      expect(ok(await rest("PUT", `/keys/${keyId}?lease=${second}`))).to.deep.equal({});
      expect(ok(await rest("GET", `/keys/${keyId}`))).to.include({ state: "AVAILABLE", isBlocked: false, lease: null, releaseAt: null });
    });

    it("KeepAlive with the current lease renews the hold to now + that hold's block_ttl and answers it", async () => {
      const keyId = (await h.client.create({ ttl: seconds(600) })).keyId;
      clock.advance(5 * SECOND);
      const leasedAt = clock.now();
      const { lease } = await h.client.acquire({ blockTtl: seconds(30) });
      clock.advance(10 * SECOND);
      let now = clock.now();
      expect(await h.client.keepAlive({ keyId, lease })).to.deep.equal({ expiresAt: at(now + 600 * SECOND), releaseAt: at(now + 30 * SECOND) });
      const state = await h.client.get({ keyId });
      expect(state).to.include({ state: KeyState.LEASED, isBlocked: true, lease });
      expect(state.blockedAt, "the lease began when it began").to.deep.equal(at(leasedAt));
      expect(state.releaseAt).to.deep.equal(at(now + 30 * SECOND));
      // REST, 20 s later: the hold is renewed again, by its own 30 s.
      clock.advance(20 * SECOND);
      now = clock.now();
      expect(ok(await rest("PUT", `/keepalive/${keyId}?lease=${lease}`))).to.deep.equal({ expiresAt: iso(now + 600 * SECOND), releaseAt: iso(now + 30 * SECOND) });
      // Renewed holds still end by time, exactly.
      clock.set(now + 30 * SECOND - 1);
      expect((await h.client.get({ keyId })).state).to.equal(KeyState.LEASED);
      clock.advance(1);
      expect((await h.client.get({ keyId })).state).to.equal(KeyState.AVAILABLE);
    });

    it("a stale lease (the hold ended by time, someone re-acquired) is ABORTED / 409 and changes nothing", async () => {
      const keyId = await newKey();
      const stale = await h.client.acquire({ blockTtl: seconds(30) });
      clock.advance(30 * SECOND);
      const current = await h.client.acquire({});
      expect(current.keyId).to.equal(keyId);
      expect(current.lease).to.be.greaterThan(stale.lease);
      clock.advance(5 * SECOND); // a KeepAlive that went through would move expiresAt
      const before = await h.client.get({ keyId });
      const beforeJson = (await rest("GET", `/keys/${keyId}`)).text;

      expect(await codeOf(h.client.release({ keyId, lease: stale.lease }))).to.equal(Code.ABORTED);
      expect(await codeOf(h.client.keepAlive({ keyId, lease: stale.lease }))).to.equal(Code.ABORTED);
      expect(await codeOf(h.client.release({ keyId, lease: stale.lease, cooldown: seconds(30) }))).to.equal(Code.ABORTED);
      expectError(await rest("PUT", `/keys/${keyId}?lease=${stale.lease}`), 409, Code.ABORTED);
      expectError(await rest("PUT", `/keepalive/${keyId}?lease=${stale.lease}`), 409, Code.ABORTED);
      expectError(await rest("PUT", `/keys/${keyId}?lease=${stale.lease}&cooldown=30s`), 409, Code.ABORTED);
      // A lease never handed out is no better.
      expect(await codeOf(h.client.release({ keyId, lease: current.lease + 1000 }))).to.equal(Code.ABORTED);

      expect(await h.client.get({ keyId })).to.deep.equal(before);
      expect((await rest("GET", `/keys/${keyId}`)).text).to.equal(beforeJson);
      expect(before).to.include({ state: KeyState.LEASED, lease: current.lease });
      expect(await h.client.stats({})).to.deep.equal({ total: 1, available: 0, leased: 1, cooling: 0 });
    });

    it("a lease given for a key that is not leased (available or cooling) is ABORTED and changes nothing", async () => {
      const keyId = await newKey();
      const { lease } = await h.client.acquire({});
      await h.client.release({ keyId });
      const available = await h.client.get({ keyId });
      expect(await codeOf(h.client.release({ keyId, lease }))).to.equal(Code.ABORTED);
      expectError(await rest("PUT", `/keepalive/${keyId}?lease=${lease}`), 409, Code.ABORTED);
      expect(await h.client.get({ keyId })).to.deep.equal(available);

      const again = await h.client.acquire({});
      await h.client.release({ keyId, lease: again.lease, cooldown: seconds(10) });
      const cooling = await h.client.get({ keyId });
      expect(cooling.state).to.equal(KeyState.COOLING);
      expect(await codeOf(h.client.release({ keyId, lease: again.lease }))).to.equal(Code.ABORTED);
      expect(await codeOf(h.client.keepAlive({ keyId, lease: again.lease }))).to.equal(Code.ABORTED);
      expect(await h.client.get({ keyId })).to.deep.equal(cooling);
    });

    it("a lease that is not a uint64 over REST → 400", async () => {
      const keyId = await newKey();
      await h.client.acquire({});
      expectError(await rest("PUT", `/keys/${keyId}?lease=abc`), 400, Code.INVALID_ARGUMENT);
      expectError(await rest("PUT", `/keepalive/${keyId}?lease=-1`), 400, Code.INVALID_ARGUMENT);
      expect((await h.client.get({ keyId })).state).to.equal(KeyState.LEASED);
    });

    it("KeepAliveResponse.releaseAt: null while available, the unchanged hold end without a lease (v1)", async () => {
      const keyId = await newKey();
      expect((await h.client.keepAlive({ keyId })).releaseAt).to.equal(undefined);
      expect(ok(await rest("PUT", `/keepalive/${keyId}`))["releaseAt"]).to.equal(null);
      await h.client.acquire({ blockTtl: seconds(30) });
      clock.advance(10 * SECOND);
      const now = clock.now();
      // Without a lease, KeepAlive renews the key, not the hold (as in v1).
      expect(await h.client.keepAlive({ keyId })).to.deep.equal({ expiresAt: at(now + KEY_TTL), releaseAt: at(T0 + 30 * SECOND) });
      expect(ok(await rest("PUT", `/keepalive/${keyId}`))).to.deep.equal({ expiresAt: iso(now + KEY_TTL), releaseAt: iso(T0 + 30 * SECOND) });
      expect((await h.client.get({ keyId })).releaseAt).to.deep.equal(at(T0 + 30 * SECOND));
      // And without a lease, Release releases whoever holds it (as in v1).
      await h.client.release({ keyId });
      expect((await h.client.get({ keyId })).state).to.equal(KeyState.AVAILABLE);
    });
  });

  describe("cooldown", () => {
    it("REST ?cooldown=30s: COOLING, isBlocked, releaseAt = now + 30s; not handed out at releaseAt − 1 ms, handed out at releaseAt", async () => {
      const keyId = await newKey();
      const lease = leaseOf(ok(await rest("GET", "/keys")));
      clock.advance(4 * SECOND);
      const releasedAt = clock.now();
      expect(ok(await rest("PUT", `/keys/${keyId}?lease=${lease}&cooldown=30s`))).to.deep.equal({});
      const body = ok(await rest("GET", `/keys/${keyId}`));
      expect(body).to.include({
        state: "COOLING",
        isBlocked: true,
        blockedAt: iso(releasedAt),
        releaseAt: iso(releasedAt + 30 * SECOND),
        lease: null,
      });
      expect(ok(await rest("GET", "/stats"))).to.deep.equal({ total: 1, available: 0, leased: 0, cooling: 1 });

      clock.set(releasedAt + 30 * SECOND - 1);
      const none = await rest("GET", "/keys");
      expect(none.status, none.text).to.equal(404);
      expect(none.json()).to.deep.equal({});
      expect(await codeOf(h.client.acquire({}))).to.equal(Code.NOT_FOUND);
      expect((await h.client.get({ keyId })).state).to.equal(KeyState.COOLING);

      clock.advance(1);
      const next = ok(await rest("GET", "/keys"));
      expect(next["keyId"]).to.equal(keyId);
      expect(leaseOf(next) > lease).to.equal(true);
    });

    it("gRPC cooldown; clamped to MAX_BLOCK_TTL; zero means available at once; a Release without lease leaves a cooling key cooling", async () => {
      const keyId = await newKey();
      await h.client.acquire({});
      await h.client.release({ keyId, cooldown: seconds(300) });
      let state = await h.client.get({ keyId });
      expect(state).to.include({ state: KeyState.COOLING, isBlocked: true, lease: undefined });
      expect(state.releaseAt).to.deep.equal(at(T0 + MAX_BLOCK_TTL));
      // Not leased: a plain Release changes nothing (v1: releasing a non-held key changes nothing).
      await h.client.release({ keyId });
      expect(await h.client.get({ keyId })).to.deep.equal(state);
      // KeepAlive renews the key and answers the cooldown's end.
      expect(await h.client.keepAlive({ keyId })).to.deep.equal({ expiresAt: at(T0 + KEY_TTL), releaseAt: at(T0 + MAX_BLOCK_TTL) });

      clock.set(T0 + MAX_BLOCK_TTL);
      const { lease } = await h.client.acquire({});
      await h.client.release({ keyId, lease, cooldown: seconds(0) });
      state = await h.client.get({ keyId });
      expect(state.state).to.equal(KeyState.AVAILABLE);
      expect(state.releaseAt).to.equal(undefined);

      await h.client.acquire({});
      expectError(await rest("PUT", `/keys/${keyId}?cooldown=-30s`), 400, Code.INVALID_ARGUMENT);
      expectError(await rest("PUT", `/keys/${keyId}?cooldown=soon`), 400, Code.INVALID_ARGUMENT);
      expect(await codeOf(h.client.release({ keyId, cooldown: seconds(-1) }))).to.equal(Code.INVALID_ARGUMENT);
      expect((await h.client.get({ keyId })).state, "a refused Release changes nothing").to.equal(KeyState.LEASED);
      expect(ok(await rest("PUT", `/keys/${keyId}?cooldown=5m`))).to.deep.equal({});
      expect(ok(await rest("GET", `/keys/${keyId}`))).to.include({ state: "COOLING", releaseAt: iso(T0 + 2 * MAX_BLOCK_TTL) });
    });
  });

  describe("Get: state, ttl, lease", () => {
    it("REST names the state, writes ttl as a protojson duration and lease as a string, null unless leased", async () => {
      const keyId = (await h.client.create({ ttl: seconds(90) })).keyId;
      const available = ok(await rest("GET", `/keys/${keyId}`));
      expect(available).to.deep.equal({
        isBlocked: false,
        blockedAt: null,
        createdAt: iso(T0),
        expiresAt: iso(T0 + 90 * SECOND),
        releaseAt: null,
        state: "AVAILABLE",
        ttl: "90s",
        lease: null,
      });
      const lease = leaseOf(ok(await rest("GET", "/keys?blockTtl=20s")));
      expect(ok(await rest("GET", `/keys/${keyId}`))).to.deep.equal({
        isBlocked: true,
        blockedAt: iso(T0),
        createdAt: iso(T0),
        expiresAt: iso(T0 + 90 * SECOND),
        releaseAt: iso(T0 + 20 * SECOND),
        state: "LEASED",
        ttl: "90s",
        lease: String(lease),
      });
      clock.advance(SECOND);
      expect(ok(await rest("PUT", `/keys/${keyId}?cooldown=2s`))).to.deep.equal({});
      expect(ok(await rest("GET", `/keys/${keyId}`))).to.deep.equal({
        isBlocked: true,
        blockedAt: iso(T0 + SECOND),
        createdAt: iso(T0),
        expiresAt: iso(T0 + 90 * SECOND),
        releaseAt: iso(T0 + 3 * SECOND),
        state: "COOLING",
        ttl: "90s",
        lease: null,
      });
    });

    it("gRPC answers the KeyState enum, ttl as a Duration, lease only while leased", async () => {
      const keyId = (await h.client.create({ ttl: seconds(90) })).keyId;
      const expected: GetResponse = {
        isBlocked: false,
        blockedAt: undefined,
        createdAt: at(T0),
        expiresAt: at(T0 + 90 * SECOND),
        releaseAt: undefined,
        state: KeyState.AVAILABLE,
        ttl: seconds(90),
        lease: undefined,
      };
      expect(await h.client.get({ keyId })).to.deep.equal(expected);
      const { lease } = await h.client.acquire({ blockTtl: seconds(20) });
      expect(await h.client.get({ keyId })).to.deep.equal({
        ...expected,
        isBlocked: true,
        blockedAt: at(T0),
        releaseAt: at(T0 + 20 * SECOND),
        state: KeyState.LEASED,
        lease,
      });
      await h.client.release({ keyId, lease, cooldown: seconds(2) });
      expect(await h.client.get({ keyId })).to.deep.equal({
        ...expected,
        isBlocked: true,
        blockedAt: at(T0),
        releaseAt: at(T0 + 2 * SECOND),
        state: KeyState.COOLING,
      });
      clock.advance(2 * SECOND);
      expect(await h.client.get({ keyId }), "the cooldown ended by time, exactly").to.deep.equal(expected);
    });
  });

  describe("Stats and List", () => {
    /** 7 keys: 4 available, 2 leased, 1 cooling. */
    async function mixedPool(): Promise<{ all: string[]; leased: string[]; cooling: string[] }> {
      const all: string[] = [];
      for (let i = 0; i < 7; i += 1) all.push(await newKey());
      const cooled = await h.client.acquire({});
      const leased = [(await h.client.acquire({})).keyId, (await h.client.acquire({})).keyId];
      await h.client.release({ keyId: cooled.keyId, lease: cooled.lease, cooldown: seconds(30) });
      return { all, leased, cooling: [cooled.keyId] };
    }

    /** Every page of GET /keys:list with this query, each checked; the keys in the order seen. */
    async function walkRest(query: string, pageSize: number): Promise<Json[]> {
      const seen: Json[] = [];
      let token = "";
      for (let pages = 0; ; pages += 1) {
        expect(pages, "the walk ends").to.be.lessThan(100);
        const next = token === "" ? "" : `&pageToken=${encodeURIComponent(token)}`;
        const body = ok(await rest("GET", `/keys:list?pageSize=${pageSize}${query}${next}`));
        expect(Object.keys(body)).to.deep.equal(["keys", "nextPageToken"]);
        const keys = body["keys"] as Json[];
        expect(keys.length).to.be.at.most(pageSize);
        seen.push(...keys);
        token = body["nextPageToken"] as string;
        expect(token).to.be.a("string");
        if (token === "") return seen;
      }
    }

    const idsOf = (keys: readonly Json[]): string[] => keys.map((key) => key["keyId"] as string).sort();
    const sorted = (ids: readonly string[]): string[] => ids.slice().sort();

    it("Stats counts by state (REST GET /stats and gRPC), following every change", async () => {
      expect(ok(await rest("GET", "/stats"))).to.deep.equal({ total: 0, available: 0, leased: 0, cooling: 0 });
      const { leased } = await mixedPool();
      expect(ok(await rest("GET", "/stats"))).to.deep.equal({ total: 7, available: 4, leased: 2, cooling: 1 });
      expect(await h.client.stats({})).to.deep.equal({ total: 7, available: 4, leased: 2, cooling: 1 });
      await h.client.release({ keyId: leased[0] as string });
      await h.client.delete({ keyId: leased[1] as string });
      expect(await h.client.stats({})).to.deep.equal({ total: 6, available: 5, leased: 0, cooling: 1 });
    });

    it("REST pages through every key with pageSize=2: each once, as Get describes it, nextPageToken empty at the end", async () => {
      const { all } = await mixedPool();
      const seen = await walkRest("", 2);
      expect(seen.map((key) => key["keyId"])).to.have.length(all.length);
      expect(idsOf(seen)).to.deep.equal(sorted(all));
      for (const key of seen) {
        expect(Object.keys(key)).to.deep.equal(["keyId", "isBlocked", "blockedAt", "createdAt", "expiresAt", "releaseAt", "state", "ttl", "lease"]);
        const { keyId, ...fields } = key;
        expect(fields).to.deep.equal(ok(await rest("GET", `/keys/${keyId as string}`)));
      }
    });

    it("gRPC List pages the same way", async () => {
      const { all } = await mixedPool();
      const ids: string[] = [];
      let pageToken = "";
      do {
        const page = await h.client.list({ pageSize: 3, pageToken });
        expect(page.keys.length).to.be.at.most(3);
        for (const key of page.keys) {
          const { keyId, ...fields } = key;
          expect(fields).to.deep.equal(await h.client.get({ keyId }));
          ids.push(keyId);
        }
        pageToken = page.nextPageToken;
      } while (pageToken !== "");
      expect(ids).to.have.length(all.length);
      expect(sorted(ids)).to.deep.equal(sorted(all));
    });

    it("the state filter: &state=LEASED and &state=2 alike, COOLING, AVAILABLE; gRPC state", async () => {
      const { all, leased, cooling } = await mixedPool();
      const byName = await walkRest("&state=LEASED", 2);
      expect(idsOf(byName)).to.deep.equal(sorted(leased));
      for (const key of byName) expect(key).to.include({ state: "LEASED", isBlocked: true });
      expect(idsOf(await walkRest("&state=2", 2))).to.deep.equal(sorted(leased));
      expect(idsOf(await walkRest("&state=COOLING", 2))).to.deep.equal(cooling);
      const available = all.filter((keyId) => !leased.includes(keyId) && !cooling.includes(keyId));
      expect(idsOf(await walkRest("&state=AVAILABLE", 5))).to.deep.equal(sorted(available));

      const grpcLeased: string[] = [];
      let pageToken = "";
      do {
        const page = await h.client.list({ pageSize: 2, pageToken, state: KeyState.LEASED });
        for (const key of page.keys) {
          expect(key.state).to.equal(KeyState.LEASED);
          grpcLeased.push(key.keyId);
        }
        pageToken = page.nextPageToken;
      } while (pageToken !== "");
      expect(sorted(grpcLeased)).to.deep.equal(sorted(leased));
    });

    it("an unknown state name or number → 400, as grpc-gateway parses enums in query parameters", async () => {
      await mixedPool();
      expectError(await rest("GET", "/keys:list?state=LEASD"), 400, Code.INVALID_ARGUMENT);
      expectError(await rest("GET", "/keys:list?state=7"), 400, Code.INVALID_ARGUMENT);
    });

    it("a page token the service did not make → INVALID_ARGUMENT (400)", async () => {
      await mixedPool();
      expectError(await rest("GET", "/keys:list?pageToken=not-a-token"), 400, Code.INVALID_ARGUMENT);
      expectError(await rest("GET", `/keys:list?pageToken=${Buffer.from("x12").toString("base64url")}`), 400, Code.INVALID_ARGUMENT);
      expect(await codeOf(h.client.list({ pageSize: 2, pageToken: "garbage!" }))).to.equal(Code.INVALID_ARGUMENT);
    });

    it("pageSize above 1000 is clamped to 1000; unset is 100", async () => {
      for (let i = 0; i < 1005; i += 1) await h.app.store.create();
      const first = ok(await rest("GET", "/keys:list?pageSize=5000"));
      expect(first["keys"] as Json[]).to.have.length(1000);
      expect(first["nextPageToken"]).to.be.a("string").and.not.equal("");
      const second = ok(await rest("GET", `/keys:list?pageSize=5000&pageToken=${first["nextPageToken"] as string}`));
      expect(second["keys"] as Json[]).to.have.length(5);
      expect(second["nextPageToken"]).to.equal("");
      expect((await h.client.list({ pageSize: 1001, pageToken: "" })).keys).to.have.length(1000);
      expect((await h.client.list({ pageSize: 0, pageToken: "" })).keys).to.have.length(100);
      expect(ok(await rest("GET", "/keys:list"))["keys"] as Json[]).to.have.length(100);
    });
  });

  it("every v1 request still gets its v1 answer (REST and gRPC, v1 fields only)", async () => {
    const v1 = (body: Json): Json => ({
      isBlocked: body["isBlocked"],
      blockedAt: body["blockedAt"],
      createdAt: body["createdAt"],
      expiresAt: body["expiresAt"],
      releaseAt: body["releaseAt"],
    });
    // REST, as a v1 client: no body, no query, v1 fields read.
    const keyId = ok(await rest("POST", "/keys"), 201)["keyId"] as string;
    expect(keyId).to.match(/^[A-Za-z0-9_-]{22,}$/);
    clock.advance(2 * SECOND);
    expect(ok(await rest("GET", "/keys"))["keyId"]).to.equal(keyId);
    expect(v1(ok(await rest("GET", `/keys/${keyId}`)))).to.deep.equal({
      isBlocked: true,
      blockedAt: iso(T0 + 2 * SECOND),
      createdAt: iso(T0),
      expiresAt: iso(T0 + KEY_TTL),
      releaseAt: iso(T0 + 2 * SECOND + BLOCK_TTL),
    });
    const none = await rest("GET", "/keys");
    expect(none.status).to.equal(404);
    expect(none.json()).to.deep.equal({});
    clock.advance(3 * SECOND);
    expect(ok(await rest("PUT", `/keepalive/${keyId}`))["expiresAt"]).to.equal(iso(T0 + 5 * SECOND + KEY_TTL));
    expect(v1(ok(await rest("GET", `/keys/${keyId}`))), "KeepAlive neither unblocks nor renews the hold").to.include({
      isBlocked: true,
      releaseAt: iso(T0 + 2 * SECOND + BLOCK_TTL),
    });
    expect(ok(await rest("PUT", `/keys/${keyId}`))).to.deep.equal({});
    expect(ok(await rest("PUT", `/keys/${keyId}`)), "releasing an available key succeeds").to.deep.equal({});
    expect(v1(ok(await rest("GET", `/keys/${keyId}`)))).to.deep.equal({
      isBlocked: false,
      blockedAt: null,
      createdAt: iso(T0),
      expiresAt: iso(T0 + 5 * SECOND + KEY_TTL),
      releaseAt: null,
    });
    // At release_at a blocked key is available again.
    expect(ok(await rest("GET", "/keys"))["keyId"]).to.equal(keyId);
    clock.set(T0 + 5 * SECOND + BLOCK_TTL);
    expect(ok(await rest("GET", `/keys/${keyId}`))["isBlocked"]).to.equal(false);
    expect(ok(await rest("DELETE", `/keys/${keyId}`))).to.deep.equal({});
    expectError(await rest("GET", `/keys/${keyId}`), 404, Code.NOT_FOUND);

    // gRPC, as a v1 client.
    clock.set(T0);
    const other = (await h.client.create({})).keyId;
    clock.advance(SECOND);
    expect((await h.client.acquire({})).keyId).to.equal(other);
    const blocked = await h.client.get({ keyId: other });
    const { isBlocked, blockedAt, createdAt, expiresAt, releaseAt } = blocked;
    expect({ isBlocked, blockedAt, createdAt, expiresAt, releaseAt }).to.deep.equal({
      isBlocked: true,
      blockedAt: at(T0 + SECOND),
      createdAt: at(T0),
      expiresAt: at(T0 + KEY_TTL),
      releaseAt: at(T0 + SECOND + BLOCK_TTL),
    });
    expect(await codeOf(h.client.acquire({}))).to.equal(Code.NOT_FOUND);
    clock.advance(SECOND);
    expect((await h.client.keepAlive({ keyId: other })).expiresAt).to.deep.equal(at(T0 + 2 * SECOND + KEY_TTL));
    expect((await h.client.get({ keyId: other })).releaseAt).to.deep.equal(at(T0 + SECOND + BLOCK_TTL));
    expect(await h.client.release({ keyId: other })).to.deep.equal({});
    expect((await h.client.get({ keyId: other })).isBlocked).to.equal(false);
    expect(await h.client.delete({ keyId: other })).to.deep.equal({});
    expect(await codeOf(h.client.get({ keyId: other }))).to.equal(Code.NOT_FOUND);
  });
});

describe("leases (v2): Stats and List are admin-only", function () {
  this.timeout(10_000);
  const CLIENT_TOKEN = "leases-client-token-3c9d1e7a";
  const ADMIN_TOKEN = "leases-admin-token-b84f02d6";
  const dir = mkdtempSync(join(tmpdir(), "tokens-leases-auth-"));
  const tokensFile = join(dir, "tokens");
  writeFileSync(tokensFile, `client ${CLIENT_TOKEN} worker\nadmin ${ADMIN_TOKEN} ops\n`);
  let h: Harness;
  let asClient: TokenClient;
  let asAdmin: TokenClient;
  const rest = (path: string, token: string): Promise<HttpResponse> => httpRequest(h.app.httpAddress, path, { headers: { authorization: `Bearer ${token}` } });

  before(async () => {
    h = await startHarness({ clock: new ManualClock(T0), env: { AUTH_TOKENS_FILE: tokensFile } });
    asClient = createTokenClient(h.app.grpcAddress, { token: CLIENT_TOKEN });
    asAdmin = createTokenClient(h.app.grpcAddress, { token: ADMIN_TOKEN });
  });
  after(async () => {
    asClient.close();
    asAdmin.close();
    await h.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("a client token gets PERMISSION_DENIED (403) for Stats and List; an admin token is served", async () => {
    await asAdmin.create({});
    expect(await codeOf(asClient.stats({}))).to.equal(Code.PERMISSION_DENIED);
    expect(await codeOf(asClient.list({ pageSize: 10, pageToken: "" }))).to.equal(Code.PERMISSION_DENIED);
    expectError(await rest("/stats", CLIENT_TOKEN), 403, Code.PERMISSION_DENIED);
    expectError(await rest("/keys:list", CLIENT_TOKEN), 403, Code.PERMISSION_DENIED);
    expect(await asAdmin.stats({})).to.deep.equal({ total: 1, available: 1, leased: 0, cooling: 0 });
    expect((await asAdmin.list({ pageSize: 10, pageToken: "" })).keys).to.have.length(1);
    expect(ok(await rest("/stats", ADMIN_TOKEN))).to.deep.equal({ total: 1, available: 1, leased: 0, cooling: 0 });
    expect(ok(await rest("/keys:list", ADMIN_TOKEN))["keys"] as Json[]).to.have.length(1);
  });
});
