import http from "node:http";
import { expect } from "chai";
import { Code, KeyState } from "../../clients";
import { startHarness, type Harness } from "../support/harness";
import { type HttpRequestOptions, httpRequest, type HttpResponse } from "../support/http-request";
import { ManualClock } from "../support/manual-clock";
import { codeOf } from "../support/grpc-code";

/**
 * The REST shim over real HTTP, against the whole app (gRPC and REST on one
 * pool), every row of the contract's REST table and its error rules.
 */

const T0 = Date.UTC(2026, 10, 25, 14, 3, 7, 123);
const SECOND = 1000;
const KEY_TTL = 300 * SECOND;
const BLOCK_TTL = 60 * SECOND;
const KEY_ID = /^[A-Za-z0-9_-]{22,}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const GET_RESPONSE_FIELDS = ["isBlocked", "blockedAt", "createdAt", "expiresAt", "releaseAt", "state", "ttl", "lease"];
/** Fields v2 added to v1's answers (leases, lifetimes): a v1 client ignores them. */
const V2_FIELDS = new Set(["state", "ttl", "lease", "releaseAt", "expiresAt"]);

const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * A v1 answer: exact status, application/json, and exactly the v1 body, field for
 * field; the only other fields allowed are those v2 added (a v1 client ignores them).
 */
function expectJson(res: HttpResponse, status: number, body: Record<string, unknown>): void {
  expect(res.status, res.text).to.equal(status);
  expect(res.mediaType, `content-type of ${res.status} ${res.text}`).to.equal("application/json");
  const got = res.json() as Record<string, unknown>;
  const v1 = Object.fromEntries(Object.keys(body).map((name) => [name, got[name]]));
  expect(v1, res.text).to.deep.equal(body);
  const extra = Object.keys(got).filter((name) => !(name in body));
  expect(extra.filter((name) => !V2_FIELDS.has(name)), `fields beyond v1 and v2 in ${res.text}`).to.deep.equal([]);
}

/** The error body: {"code": <grpc code>, "message": "…", "details": []}, as JSON, never HTML. */
function expectError(res: HttpResponse, status: number, code?: number): void {
  expect(res.status, res.text).to.equal(status);
  expect(res.mediaType, `content-type of ${res.status} ${res.text}`).to.equal("application/json");
  const body = res.json() as Record<string, unknown>;
  expect(Object.keys(body), res.text).to.deep.equal(["code", "message", "details"]);
  if (code === undefined) expect(body["code"]).to.be.a("number");
  else expect(body["code"], res.text).to.equal(code);
  expect(body["message"]).to.be.a("string").and.not.equal("");
  expect(body["details"]).to.deep.equal([]);
}

function allowOf(res: HttpResponse): string[] {
  const allow = res.headers["allow"];
  expect(allow, `Allow header of ${res.status} ${res.text}`).to.be.a("string");
  return (allow as string).split(",").map((method) => method.trim()).sort();
}

describe("REST gateway over real HTTP (manual clock)", function () {
  this.timeout(30_000);
  const clock = new ManualClock();
  let h: Harness;

  const call = (method: string, path: string, options: Omit<HttpRequestOptions, "method"> = {}): Promise<HttpResponse> =>
    httpRequest(h.app.httpAddress, path, { ...options, method });

  async function createKey(): Promise<string> {
    const res = await call("POST", "/keys");
    expect(res.status, res.text).to.equal(201);
    const { keyId } = res.json() as { keyId: string };
    expect(keyId).to.match(KEY_ID);
    return keyId;
  }

  beforeEach(async () => {
    clock.set(T0);
    h = await startHarness({ clock, env: { KEY_TTL: "5m", BLOCK_TTL: "60s" } });
  });
  afterEach(() => h.close());

  describe("the contract table", () => {
    it("POST /keys → 201 {keyId} with a fresh URL-safe id of at least 22 characters", async () => {
      const first = await call("POST", "/keys");
      expect(first.status, first.text).to.equal(201);
      expect(first.mediaType).to.equal("application/json");
      const body = first.json() as Record<string, unknown>;
      expect(Object.keys(body)).to.deep.equal(["keyId", "expiresAt", "ttl"]);
      expect(body["keyId"]).to.be.a("string").and.match(KEY_ID);
      const second = await createKey();
      expect(second).to.not.equal(body["keyId"]);
    });

    it('POST /keys accepts the body "{}" as JSON (body "*")', async () => {
      const res = await call("POST", "/keys", { headers: { "content-type": "application/json" }, body: "{}" });
      expect(res.status, res.text).to.equal(201);
      expect(res.mediaType).to.equal("application/json");
      expect((res.json() as { keyId: string }).keyId).to.match(KEY_ID);
    });

    it("GET /keys → 200 {keyId} (acquire)", async () => {
      const keyId = await createKey();
      expectJson(await call("GET", "/keys"), 200, { keyId });
    });

    it("GET /keys/{key_id} → 200 with exactly isBlocked, blockedAt, createdAt, expiresAt, releaseAt; null when unset", async () => {
      const keyId = await createKey();
      const res = await call("GET", `/keys/${keyId}`);
      expectJson(res, 200, {
        isBlocked: false,
        blockedAt: null,
        createdAt: "2026-11-25T14:03:07.123Z",
        expiresAt: "2026-11-25T14:08:07.123Z",
        releaseAt: null,
      });
      expect(Object.keys(res.json() as object)).to.deep.equal(GET_RESPONSE_FIELDS);
    });

    it("GET /keys/{key_id} of a blocked key carries blockedAt and releaseAt", async () => {
      const keyId = await createKey();
      clock.advance(2 * SECOND);
      expectJson(await call("GET", "/keys"), 200, { keyId });
      const res = await call("GET", `/keys/${keyId}`);
      expectJson(res, 200, {
        isBlocked: true,
        blockedAt: "2026-11-25T14:03:09.123Z",
        createdAt: "2026-11-25T14:03:07.123Z",
        expiresAt: "2026-11-25T14:08:07.123Z",
        releaseAt: "2026-11-25T14:04:09.123Z",
      });
      expect(Object.keys(res.json() as object)).to.deep.equal(GET_RESPONSE_FIELDS);
    });

    it("DELETE /keys/{key_id} → 200 {}", async () => {
      const keyId = await createKey();
      expectJson(await call("DELETE", `/keys/${keyId}`), 200, {});
      expectError(await call("GET", `/keys/${keyId}`), 404, Code.NOT_FOUND);
    });

    it("PUT /keys/{key_id} → 200 {} (release)", async () => {
      const keyId = await createKey();
      expectJson(await call("GET", "/keys"), 200, { keyId });
      expectJson(await call("PUT", `/keys/${keyId}`), 200, {});
      expectJson(await call("GET", `/keys/${keyId}`), 200, {
        isBlocked: false,
        blockedAt: null,
        createdAt: iso(T0),
        expiresAt: iso(T0 + KEY_TTL),
        releaseAt: null,
      });
    });

    it("PUT /keepalive/{key_id} → 200 {expiresAt}", async () => {
      const keyId = await createKey();
      clock.advance(61 * SECOND + 5);
      const res = await call("PUT", `/keepalive/${keyId}`);
      expectJson(res, 200, { expiresAt: "2026-11-25T14:09:08.128Z", releaseAt: null });
      expect(Object.keys(res.json() as object)).to.deep.equal(["expiresAt", "releaseAt"]);
    });
  });

  describe("the lifecycle on the manual clock", () => {
    it("a blocked key stays blocked until 1 ms before release_at and is available at exactly release_at", async () => {
      const keyId = await createKey();
      clock.advance(5 * SECOND);
      const acquiredAt = clock.now();
      expectJson(await call("GET", "/keys"), 200, { keyId });
      expectJson(await call("GET", "/keys"), 404, {});
      clock.advance(BLOCK_TTL - 1);
      expectJson(await call("GET", `/keys/${keyId}`), 200, {
        isBlocked: true,
        blockedAt: iso(acquiredAt),
        createdAt: iso(T0),
        expiresAt: iso(T0 + KEY_TTL),
        releaseAt: iso(acquiredAt + BLOCK_TTL),
      });
      expectJson(await call("GET", "/keys"), 404, {});
      clock.advance(1);
      expectJson(await call("GET", `/keys/${keyId}`), 200, {
        isBlocked: false,
        blockedAt: null,
        createdAt: iso(T0),
        expiresAt: iso(T0 + KEY_TTL),
        releaseAt: null,
      });
      expectJson(await call("GET", "/keys"), 200, { keyId });
    });

    it("acquire does not extend expires_at; at expires_at exactly the key is gone (404), blocked or not", async () => {
      const keyId = await createKey();
      clock.advance(KEY_TTL - 30 * SECOND);
      expectJson(await call("GET", "/keys"), 200, { keyId });
      clock.advance(30 * SECOND - 1);
      const state = (await call("GET", `/keys/${keyId}`)).json() as Record<string, unknown>;
      expect(state["isBlocked"]).to.equal(true);
      expect(state["expiresAt"]).to.equal(iso(T0 + KEY_TTL));
      clock.advance(1);
      expectError(await call("GET", `/keys/${keyId}`), 404, Code.NOT_FOUND);
      expectError(await call("PUT", `/keepalive/${keyId}`), 404, Code.NOT_FOUND);
      expectError(await call("PUT", `/keys/${keyId}`), 404, Code.NOT_FOUND);
      expectError(await call("DELETE", `/keys/${keyId}`), 404, Code.NOT_FOUND);
      expectJson(await call("GET", "/keys"), 404, {});
    });

    it("keep-alive moves expires_at to now + KEY_TTL without unblocking; the key expires at the new instant exactly", async () => {
      const keyId = await createKey();
      expectJson(await call("GET", "/keys"), 200, { keyId });
      clock.advance(200 * SECOND);
      const renewed = clock.now() + KEY_TTL;
      expectJson(await call("PUT", `/keepalive/${keyId}`), 200, { expiresAt: iso(renewed) });
      expectJson(await call("GET", `/keys/${keyId}`), 200, {
        isBlocked: false, // released by time at T0 + 60 s, not by the keep-alive
        blockedAt: null,
        createdAt: iso(T0),
        expiresAt: iso(renewed),
        releaseAt: null,
      });
      expectJson(await call("GET", "/keys"), 200, { keyId });
      expectJson(await call("PUT", `/keepalive/${keyId}`), 200, { expiresAt: iso(renewed) });
      const blocked = (await call("GET", `/keys/${keyId}`)).json() as Record<string, unknown>;
      expect(blocked["isBlocked"], "keep-alive must not unblock").to.equal(true);
      clock.set(renewed - 1);
      expect((await call("GET", `/keys/${keyId}`)).status).to.equal(200);
      clock.set(renewed);
      expectError(await call("GET", `/keys/${keyId}`), 404, Code.NOT_FOUND);
    });

    it("releasing an available key is a no-op; a blocked key can be deleted", async () => {
      const keyId = await createKey();
      expectJson(await call("PUT", `/keys/${keyId}`), 200, {});
      expectJson(await call("GET", `/keys/${keyId}`), 200, {
        isBlocked: false,
        blockedAt: null,
        createdAt: iso(T0),
        expiresAt: iso(T0 + KEY_TTL),
        releaseAt: null,
      });
      expectJson(await call("GET", "/keys"), 200, { keyId });
      expectJson(await call("DELETE", `/keys/${keyId}`), 200, {});
      expectError(await call("DELETE", `/keys/${keyId}`), 404, Code.NOT_FOUND);
      expectError(await call("PUT", `/keys/${keyId}`), 404, Code.NOT_FOUND);
      expectJson(await call("GET", "/keys"), 404, {});
    });
  });

  describe("errors", () => {
    it("an unknown key id is 404 {code: 5, message, details: []} on every route that names a key", async () => {
      for (const [method, path] of [
        ["GET", "/keys/no-such-key"],
        ["DELETE", "/keys/no-such-key"],
        ["PUT", "/keys/no-such-key"],
        ["PUT", "/keepalive/no-such-key"],
      ] as const) {
        expectError(await call(method, path), 404, Code.NOT_FOUND);
      }
    });

    it("GET /keys with no available key is 404 with the body exactly {}", async () => {
      const res = await call("GET", "/keys");
      expect(res.status).to.equal(404);
      expect(res.mediaType).to.equal("application/json");
      expect(res.text).to.equal("{}");
      await createKey();
      expect((await call("GET", "/keys")).status).to.equal(200);
      const again = await call("GET", "/keys");
      expect([again.status, again.mediaType, again.text]).to.deep.equal([404, "application/json", "{}"]);
    });

    it("an empty key id is not routable: GET /keys/ and PUT /keepalive/ are 404 JSON errors", async () => {
      await createKey();
      expectError(await call("GET", "/keys/"), 404, Code.NOT_FOUND);
      expectError(await call("DELETE", "/keys/"), 404, Code.NOT_FOUND);
      expectError(await call("PUT", "/keepalive/"), 404, Code.NOT_FOUND);
    });

    it("a key id of 129 characters is 400 INVALID_ARGUMENT; one of 128 is looked up (404 NOT_FOUND)", async () => {
      const long = "a".repeat(129);
      const max = "a".repeat(128);
      for (const [method, prefix] of [
        ["GET", "/keys/"],
        ["DELETE", "/keys/"],
        ["PUT", "/keys/"],
        ["PUT", "/keepalive/"],
      ] as const) {
        expectError(await call(method, prefix + long), 400, Code.INVALID_ARGUMENT);
        expectError(await call(method, prefix + max), 404, Code.NOT_FOUND);
      }
    });

    it("percent-encoded key ids are decoded, then looked up", async () => {
      const keyId = await createKey();
      const everyCharEncoded = [...keyId].map((char) => `%${char.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0")}`).join("");
      expectJson(await call("GET", `/keys/${everyCharEncoded}`), 200, {
        isBlocked: false,
        blockedAt: null,
        createdAt: iso(T0),
        expiresAt: iso(T0 + KEY_TTL),
        releaseAt: null,
      });
      expectJson(await call("PUT", `/keepalive/${everyCharEncoded}`), 200, { expiresAt: iso(T0 + KEY_TTL) });
      for (const id of ["a%20b", "%E2%9C%93", "a%2Fb", "caf%C3%A9", "%3Fx%3Dy"]) {
        expectError(await call("GET", `/keys/${id}`), 404, Code.NOT_FOUND);
      }
      // 128 characters once decoded (3 bytes each when encoded): looked up, not rejected.
      expectError(await call("GET", `/keys/${"%41".repeat(128)}`), 404, Code.NOT_FOUND);
      expectError(await call("GET", `/keys/${"%41".repeat(129)}`), 400, Code.INVALID_ARGUMENT);
    });

    it("a malformed percent-encoding in a path variable is 400 INVALID_ARGUMENT, as grpc-gateway answers", async () => {
      for (const path of ["/keys/%E0%A4%A", "/keys/%zz", "/keepalive/%"]) {
        const method = path.startsWith("/keepalive") ? "PUT" : "GET";
        expectError(await call(method, path), 400, Code.INVALID_ARGUMENT);
      }
    });

    it("an enum query value is a value's name or number, as grpc-gateway's runtime.Enum reads it; anything else is 400", async () => {
      const available = await createKey();
      const leased = await createKey();
      await call("PUT", `/keys/${available}`);
      const held = await h.client.acquire({});
      expect([available, leased]).to.include(held.keyId);
      for (const state of ["LEASED", "2"]) {
        const res = await call("GET", `/keys:list?state=${state}`);
        expect(res.status, res.text).to.equal(200);
        const { keys } = res.json() as { keys: { keyId: string; state: string; lease: string }[] };
        expect(keys.map(({ keyId, state, lease }) => ({ keyId, state, lease }))).to.deep.equal([{ keyId: held.keyId, state: "LEASED", lease: String(held.lease) }]);
      }
      for (const state of ["NOPE", "leased", "9", "-1", "2.0"]) expectError(await call("GET", `/keys:list?state=${state}`), 400, Code.INVALID_ARGUMENT);
      for (const state of ["KEY_STATE_UNSPECIFIED", "0"]) {
        const res = await call("GET", `/keys:list?state=${state}`);
        expect((res.json() as { keys: unknown[] }).keys, "UNSPECIFIED filters nothing").to.have.length(2);
      }
      expect(await codeOf(h.client.list({ state: 9 as KeyState }))).to.equal(Code.INVALID_ARGUMENT);
    });

    it("drops unknown JSON body fields (grpc-gateway's DiscardUnknown) and ignores bodies on routes that take none", async () => {
      const created = await call("POST", "/keys", { headers: { "content-type": "application/json" }, body: '{"foo":1,"bar":{"x":[1]}}' });
      expect(created.status, created.text).to.equal(201);
      const { keyId } = created.json() as { keyId: string };
      const got = await call("GET", `/keys/${keyId}`, { headers: { "content-type": "application/json" }, body: "{not json" });
      expect(got.status, got.text).to.equal(200);
    });

    it("an unknown path is 404 with the JSON error body", async () => {
      for (const [method, path] of [
        ["GET", "/"],
        ["GET", "/nope"],
        ["GET", "/keys/a/b"],
        ["GET", "/keepalive"],
        ["POST", "/v1/keys"],
        ["GET", "/KEYS"],
        ["DELETE", "/nope/deeper?x=1"],
      ] as const) {
        expectError(await call(method, path), 404, Code.NOT_FOUND);
      }
    });

    it("a known path with the wrong method is 405 with Allow and the JSON error body", async () => {
      const cases: readonly (readonly [string, string, readonly string[]])[] = [
        ["PATCH", "/keys/x", ["DELETE", "GET", "PUT"]],
        ["POST", "/keys/x", ["DELETE", "GET", "PUT"]],
        ["POST", "/keepalive/x", ["PUT"]],
        ["GET", "/keepalive/x", ["PUT"]],
        ["DELETE", "/keepalive/x", ["PUT"]],
        ["DELETE", "/keys", ["GET", "POST"]],
        ["PUT", "/keys", ["GET", "POST"]],
        ["PATCH", "/keys", ["GET", "POST"]],
      ];
      for (const [method, path, allow] of cases) {
        const res = await call(method, path);
        expectError(res, 405);
        expect(allowOf(res), `${method} ${path}`).to.deep.equal([...allow].sort());
      }
    });

    it("malformed JSON on POST /keys is 400 INVALID_ARGUMENT", async () => {
      for (const body of ['{"', "{,}", "nope", '{"keyId":}']) {
        expectError(await call("POST", "/keys", { headers: { "content-type": "application/json" }, body }), 400, Code.INVALID_ARGUMENT);
      }
      // No Content-Type at all: the body is still read as JSON, and still malformed.
      expectError(await call("POST", "/keys", { body: "{" }), 400, Code.INVALID_ARGUMENT);
      // JSON, but not an object.
      expectError(await call("POST", "/keys", { headers: { "content-type": "application/json" }, body: "[]" }), 400, Code.INVALID_ARGUMENT);
      // Nothing was created by any of those.
      expectJson(await call("GET", "/keys"), 404, {});
    });

    it("a body with a non-JSON content type is 400", async () => {
      for (const [type, body] of [
        ["text/plain", "{}"],
        ["application/x-www-form-urlencoded", "a=b"],
        ["text/html", "<p>{}</p>"],
      ] as const) {
        expectError(await call("POST", "/keys", { headers: { "content-type": type }, body }), 400, Code.INVALID_ARGUMENT);
      }
      expectJson(await call("GET", "/keys"), 404, {});
    });

    it("a body over 64 KiB is 413 with the JSON error body; exactly 64 KiB is accepted", async () => {
      const json = { "content-type": "application/json" };
      const exact = `{}${" ".repeat(64 * 1024 - 2)}`;
      expect(Buffer.byteLength(exact)).to.equal(65536);
      const ok = await call("POST", "/keys", { headers: json, body: exact });
      expect(ok.status, ok.text).to.equal(201);
      expectError(await call("POST", "/keys", { headers: json, body: `${exact} ` }), 413);
      expectError(await call("POST", "/keys", { headers: json, body: Buffer.alloc(1 << 20, 0x20) }), 413);
      // Without Content-Length (chunked): the limit still holds.
      expectError(await call("POST", "/keys", { headers: json, body: Buffer.alloc(200 * 1024, 0x20), chunked: true }), 413);
      // On a route without a body, too.
      expectError(await call("PUT", "/keepalive/x", { headers: json, body: Buffer.alloc(65537, 0x20) }), 413);
    });

    it("every error response is JSON, never HTML", async () => {
      const requests: readonly (readonly [string, string, HttpRequestOptions])[] = [
        ["GET", "/nope", {}],
        ["GET", "/keys/", {}],
        ["GET", "/keys/%", {}],
        ["GET", "/keys/%zz", {}],
        ["PATCH", "/keys/x", {}],
        ["OPTIONS", "/keys", {}],
        ["POST", "/keys", { headers: { "content-type": "application/json" }, body: "{" }],
        ["POST", "/keys", { headers: { "content-type": "application/json", "content-encoding": "bogus" }, body: "{}" }],
        ["POST", "/keys", { headers: { "content-type": "application/json", "content-encoding": "gzip" }, body: "not gzip" }],
        ["POST", "/keys", { headers: { "content-type": "application/json" }, body: Buffer.alloc(70_000, 0x20) }],
        ["GET", `/keys/${"x".repeat(300)}`, {}],
        ["POST", "/keys?%zz=%zz", { headers: { "content-type": "application/json" }, body: "]" }],
      ];
      for (const [method, path, options] of requests) {
        const res = await call(method, path, options);
        const what = `${method} ${path} → ${res.status} ${res.headers["content-type"] ?? ""} ${res.text}`;
        expect(res.status, what).to.be.at.least(400);
        expect(res.mediaType, what).to.equal("application/json");
        expect(res.text, what).to.not.match(/<html|<!DOCTYPE|<pre>|\bat .+\.(?:ts|js):\d+/i);
        expectError(res, res.status);
      }
    });

    it("RESOURCE_EXHAUSTED is 429 with code 8: with MAX_KEYS=2 the third POST /keys is refused", async () => {
      const small = await startHarness({ clock, env: { MAX_KEYS: "2" } });
      try {
        const post = (): Promise<HttpResponse> => httpRequest(small.app.httpAddress, "/keys", { method: "POST" });
        const first = await post();
        expect((await post()).status).to.equal(201);
        expectError(await post(), 429, Code.RESOURCE_EXHAUSTED);
        const { keyId } = first.json() as { keyId: string };
        expectJson(await httpRequest(small.app.httpAddress, `/keys/${keyId}`, { method: "DELETE" }), 200, {});
        expect((await post()).status).to.equal(201);
      } finally {
        await small.close();
      }
    });
  });

  describe("X-Request-Id", () => {
    it("echoes a given X-Request-Id on successes and on errors", async () => {
      const keyId = await createKey();
      const id = "req-42.abc:def/ghi";
      const headers = { "x-request-id": id };
      const json = { "x-request-id": id, "content-type": "application/json" };
      for (const res of [
        await call("POST", "/keys", { headers }),
        await call("GET", "/keys", { headers }),
        await call("GET", "/keys", { headers }),
        await call("GET", `/keys/${keyId}`, { headers }),
        await call("GET", "/keys/unknown", { headers }),
        await call("GET", "/nope", { headers }),
        await call("PATCH", "/keys/x", { headers }),
        await call("POST", "/keys", { headers: json, body: "{" }),
        await call("POST", "/keys", { headers: json, body: Buffer.alloc(70_000, 0x20) }),
      ]) {
        expect(res.headers["x-request-id"], `${res.status} ${res.text}`).to.equal(id);
      }
    });

    it("generates a uuid when the request has none (or an unusable one)", async () => {
      const seen = new Set<string>();
      for (const res of [
        await call("POST", "/keys"),
        await call("GET", "/keys/unknown"),
        await call("GET", "/nope"),
        await call("GET", "/keys/x", { headers: { "x-request-id": "has spaces and <html>" } }),
        await call("GET", "/keys/x", { headers: { "x-request-id": "a".repeat(500) } }),
      ]) {
        const id = res.headers["x-request-id"];
        expect(id, `${res.status} ${res.text}`).to.be.a("string").and.match(UUID);
        seen.add(id as string);
      }
      expect(seen.size).to.equal(5);
    });
  });

  describe("one pool for REST and gRPC", () => {
    it("a key created over REST is visible, acquirable and deletable over gRPC, and the other way round", async () => {
      const restKey = await createKey();
      expect(await h.client.get({ keyId: restKey })).to.deep.equal({
        isBlocked: false,
        blockedAt: undefined,
        createdAt: new Date(T0),
        expiresAt: new Date(T0 + KEY_TTL),
        releaseAt: undefined,
        state: KeyState.AVAILABLE,
        ttl: { seconds: KEY_TTL / SECOND, nanos: 0 },
        lease: undefined,
      });
      expect((await h.client.acquire({})).keyId).to.equal(restKey);
      expect(((await call("GET", `/keys/${restKey}`)).json() as { isBlocked: boolean }).isBlocked).to.equal(true);
      expectJson(await call("GET", "/keys"), 404, {});

      const { keyId: grpcKey } = await h.client.create({});
      expectJson(await call("GET", "/keys"), 200, { keyId: grpcKey });
      expect((await h.client.get({ keyId: grpcKey })).isBlocked).to.equal(true);
      expectJson(await call("DELETE", `/keys/${grpcKey}`), 200, {});
      expect(await codeOf(h.client.get({ keyId: grpcKey }))).to.equal(Code.NOT_FOUND);
      await h.client.delete({ keyId: restKey });
      expectError(await call("GET", `/keys/${restKey}`), 404, Code.NOT_FOUND);
    });
  });

  describe("concurrency", () => {
    it("200 parallel GET /keys over a pool of 20: exactly 20 distinct keys handed out, 180 × 404 {}", async () => {
      const created = new Set<string>();
      for (let i = 0; i < 20; i += 1) created.add(await createKey());
      expect(created.size).to.equal(20);
      const agent = new http.Agent({ keepAlive: true, maxSockets: 50 });
      try {
        const answers = await Promise.all(Array.from({ length: 200 }, () => call("GET", "/keys", { agent })));
        const ok = answers.filter((res) => res.status === 200);
        const empty = answers.filter((res) => res.status === 404);
        expect(ok.length + empty.length, answers.map((res) => res.status).join(",")).to.equal(200);
        expect(ok).to.have.length(20);
        for (const res of empty) expect([res.mediaType, res.text]).to.deep.equal(["application/json", "{}"]);
        const handedOut = new Set(ok.map((res) => (res.json() as { keyId: string }).keyId));
        expect(handedOut.size).to.equal(20);
        expect([...handedOut].sort()).to.deep.equal([...created].sort());
        for (const res of ok) expect(Object.keys(res.json() as object)).to.deep.equal(["keyId", "releaseAt", "lease"]);
      } finally {
        agent.destroy();
      }
      for (const keyId of created) expect(((await call("GET", `/keys/${keyId}`)).json() as { isBlocked: boolean }).isBlocked).to.equal(true);
    });
  });
});
