import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { credentials, makeGenericClientConstructor } from "@grpc/grpc-js";
import { expect } from "chai";
import { service as healthService } from "grpc-health-check";
import { Code, createTokenClient, type ServiceError, type TokenClient } from "../../clients";
import { startHarness, type Harness } from "../support/harness";
import { httpRequest, type HttpResponse } from "../support/http-request";
import { ManualClock } from "../support/manual-clock";
import { codeOf } from "../support/grpc-code";

/**
 * Authentication, roles and the rate limit on both transports, through the one
 * pipeline; the open pages; the key-activity log, and that no key id or token
 * reaches a log line or a metric.
 */

const CLIENT_TOKEN = "client-secret-token-5f2a9c41d7";
const ADMIN_TOKEN = "admin-secret-token-81b0e6c3a9";

describe("security: tokens, roles, rate limit, key-activity log", function () {
  this.timeout(30_000);
  const dir = mkdtempSync(join(tmpdir(), "tokens-auth-"));
  const tokensFile = join(dir, "tokens");
  writeFileSync(tokensFile, `# test tokens\nclient ${CLIENT_TOKEN} worker-1\nadmin ${ADMIN_TOKEN} ops\n`);
  after(() => rmSync(dir, { recursive: true, force: true }));

  const clock = new ManualClock();
  let h: Harness;
  let asClient: TokenClient;
  let asAdmin: TokenClient;
  const rest = (method: string, path: string, token?: string): Promise<HttpResponse> =>
    httpRequest(h.app.httpAddress, path, { method, headers: token === undefined ? {} : { authorization: `Bearer ${token}` } });

  beforeEach(async () => {
    h = await startHarness({ clock, env: { AUTH_TOKENS_FILE: tokensFile } });
    asClient = createTokenClient(h.app.grpcAddress, { token: CLIENT_TOKEN });
    asAdmin = createTokenClient(h.app.grpcAddress, { token: ADMIN_TOKEN });
  });
  afterEach(async () => {
    asClient.close();
    asAdmin.close();
    await h.close();
  });

  describe("over gRPC", () => {
    it("refuses a call without a token, with a wrong one, or with a malformed header: UNAUTHENTICATED", async () => {
      expect(await codeOf(h.client.acquire({}))).to.equal(Code.UNAUTHENTICATED);
      const wrong = createTokenClient(h.app.grpcAddress, { token: `${CLIENT_TOKEN}x` });
      try {
        expect(await codeOf(wrong.get({ keyId: "k" }))).to.equal(Code.UNAUTHENTICATED);
      } finally {
        wrong.close();
      }
      expect(await codeOf(h.client.get({ keyId: "k" }, { metadata: { authorization: CLIENT_TOKEN } }))).to.equal(Code.UNAUTHENTICATED);
    });

    it("lets a client Acquire, Get, Release and KeepAlive, and refuses it Create and Delete: PERMISSION_DENIED", async () => {
      expect(await codeOf(asClient.create({}))).to.equal(Code.PERMISSION_DENIED);
      const { keyId } = await asAdmin.create({});
      expect((await asClient.acquire({})).keyId).to.equal(keyId);
      expect((await asClient.get({ keyId })).isBlocked).to.equal(true);
      await asClient.keepAlive({ keyId });
      await asClient.release({ keyId });
      expect(await codeOf(asClient.delete({ keyId }))).to.equal(Code.PERMISSION_DENIED);
      await asAdmin.delete({ keyId });
      expect(await codeOf(asAdmin.get({ keyId }))).to.equal(Code.NOT_FOUND);
    });

    it("judges every call on one connection by its own token, whatever the connection sent before", async () => {
      const as = (authorization: string): { metadata: Record<string, string> } => ({ metadata: { authorization } });
      // h.client is one channel: one HTTP/2 connection carries every call below.
      expect((await h.client.create({}, as(`Bearer ${ADMIN_TOKEN}`))).keyId).to.be.a("string");
      expect(await codeOf(h.client.create({}, as(`Bearer ${CLIENT_TOKEN}`)))).to.equal(Code.PERMISSION_DENIED);
      expect(await codeOf(h.client.create({}, as(`Bearer ${ADMIN_TOKEN}x`)))).to.equal(Code.UNAUTHENTICATED);
      expect(await codeOf(h.client.create({}))).to.equal(Code.UNAUTHENTICATED);
      expect((await h.client.create({}, as(`Bearer ${ADMIN_TOKEN}`))).keyId).to.be.a("string");
      expect((await h.client.acquire({}, as(`Bearer ${CLIENT_TOKEN}`))).keyId).to.be.a("string");
      expect(await codeOf(h.client.delete({ keyId: "k" }, as(`Bearer ${CLIENT_TOKEN}`)))).to.equal(Code.PERMISSION_DENIED);
    });

    it("keeps health open without a token", async () => {
      const Health = makeGenericClientConstructor(healthService, "Health");
      const health = new Health(h.app.grpcAddress, credentials.createInsecure()) as unknown as {
        check(request: { service: string }, callback: (error: ServiceError | null, response: { status: string }) => void): void;
        close(): void;
      };
      try {
        const status = await new Promise<string>((resolve, reject) => health.check({ service: "" }, (error, response) => (error ? reject(error) : resolve(response.status))));
        expect(status).to.equal("SERVING");
      } finally {
        health.close();
      }
    });
  });

  describe("over REST", () => {
    it("401 with WWW-Authenticate: Bearer without a valid token; 403 for a role that may not; 2xx with the right one", async () => {
      const missing = await rest("GET", "/keys");
      expect([missing.status, (missing.json() as { code: number }).code]).to.deep.equal([401, Code.UNAUTHENTICATED]);
      expect(missing.headers["www-authenticate"]).to.match(/^Bearer realm="token-orchestrator"$/);
      expect((await rest("GET", "/keys", "nope-nope-nope-nope")).status).to.equal(401);
      const denied = await rest("POST", "/keys", CLIENT_TOKEN);
      expect([denied.status, (denied.json() as { code: number }).code]).to.deep.equal([403, Code.PERMISSION_DENIED]);
      expect(denied.headers["www-authenticate"]).to.contain('error="insufficient_scope"');
      const created = await rest("POST", "/keys", ADMIN_TOKEN);
      expect(created.status).to.equal(201);
      const { keyId } = created.json() as { keyId: string };
      expect((await rest("GET", "/keys", CLIENT_TOKEN)).status).to.equal(200);
      expect((await rest("PUT", `/keys/${keyId}`, CLIENT_TOKEN)).status).to.equal(200);
      expect((await rest("DELETE", `/keys/${keyId}`, CLIENT_TOKEN)).status).to.equal(403);
      expect((await rest("DELETE", `/keys/${keyId}`, ADMIN_TOKEN)).status).to.equal(200);
    });

    it("judges every call on one kept-alive connection by its own header, whatever the connection sent before", async () => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      let connections = 0;
      const connect = agent.createConnection.bind(agent);
      agent.createConnection = (options, callback) => {
        connections += 1;
        return connect(options, callback);
      };
      const call = async (method: string, path: string, authorization?: string): Promise<number> =>
        (await httpRequest(h.app.httpAddress, path, { method, agent, headers: authorization === undefined ? {} : { authorization } })).status;
      try {
        const sequence: [string, string, string | undefined, number][] = [
          ["POST", "/keys", `Bearer ${ADMIN_TOKEN}`, 201],
          ["POST", "/keys", `Bearer ${CLIENT_TOKEN}`, 403],
          ["POST", "/keys", `Bearer ${ADMIN_TOKEN}`, 201],
          ["POST", "/keys", `Bearer ${ADMIN_TOKEN}x`, 401],
          ["POST", "/keys", `Bearer ${ADMIN_TOKEN.slice(0, -1)}`, 401],
          ["POST", "/keys", undefined, 401],
          ["POST", "/keys", `bearer ${ADMIN_TOKEN}`, 201],
          ["GET", "/keys", `Bearer ${CLIENT_TOKEN}`, 200],
          ["POST", "/keys", `Bearer ${CLIENT_TOKEN}`, 403],
        ];
        for (const [method, path, authorization, status] of sequence) expect(await call(method, path, authorization), `${method} ${authorization}`).to.equal(status);
        expect(connections).to.equal(1);
      } finally {
        agent.destroy();
      }
    });

    it("keeps /healthz, /openapi.json and /metrics open; OpenAPI declares the bearer scheme", async () => {
      expect((await rest("GET", "/healthz")).status).to.equal(200);
      expect((await rest("GET", "/metrics")).status).to.equal(200);
      const openApi = await rest("GET", "/openapi.json");
      expect(openApi.status).to.equal(200);
      const document = openApi.json() as { components: { securitySchemes: Record<string, unknown> }; security: unknown[] };
      expect(document.components.securitySchemes).to.deep.equal({ bearerAuth: { type: "http", scheme: "bearer" } });
      expect(document.security).to.deep.equal([{ bearerAuth: [] }]);
    });
  });

  describe("the key-activity log and the metrics", () => {
    it("logs one line per key event with a fingerprint and the caller's name; counts calls by transport and events by type", async () => {
      const { keyId } = await asAdmin.create({});
      await asClient.acquire({});
      clock.advance(60_000); // the hold ends
      await rest("GET", `/keys/${keyId}`, CLIENT_TOKEN); // applies it: AUTO_RELEASED
      const events = h.logs.filter((line) => line["msg"] === "key event");
      expect(events.map((line) => [line["event"], line["by"], line["lease"]])).to.deep.equal([
        ["CREATED", "ops", undefined],
        ["ACQUIRED", "worker-1", 1],
        ["AUTO_RELEASED", undefined, 1],
      ]);
      for (const line of events) {
        expect(line["key"]).to.match(/^[0-9a-f]{12}$/);
        expect(line["level"], "key events are logged at info").to.equal(30);
      }
      const metrics = (await rest("GET", "/metrics")).text;
      expect(metrics).to.match(/grpc_server_handled_total\{grpc_type="unary",grpc_service="tokens\.v1\.TokenService",grpc_method="Create",transport="grpc",grpc_code="OK"\} 1/);
      expect(metrics).to.match(/grpc_server_handled_total\{[^}]*grpc_method="Get",transport="http",grpc_code="OK"\} 1/);
      expect(metrics).to.match(/grpc_server_started_total\{[^}]*grpc_method="Acquire",transport="grpc"\} 1/);
      expect(metrics).to.match(/grpc_server_handling_seconds_bucket\{le="\+Inf",[^}]*grpc_method="Acquire"[^}]*\} 1/);
      expect(metrics).to.match(/token_keys\{state="available"\} 1/);
      expect(metrics).to.match(/token_keys\{state="leased"\} 0/);
      expect(metrics).to.match(/token_key_events_total\{type="AUTO_RELEASED"\} 1/);
      expect(metrics).to.match(/process_cpu_seconds_total/);
      expect(metrics).not.to.contain(keyId);
    });

    it("a full run writes no key id and no token into any log line or metric", async () => {
      const ids: string[] = [];
      for (let i = 0; i < 3; i += 1) ids.push((await asAdmin.create({})).keyId);
      const held = (await asClient.acquire({})).keyId;
      await asClient.keepAlive({ keyId: held });
      await codeOf(asClient.delete({ keyId: held })); // refused, logged at debug
      await codeOf(h.client.get({ keyId: held })); // no token
      await rest("PUT", `/keys/${held}`, CLIENT_TOKEN);
      await rest("GET", `/keys/${ids[1]}?keyId=${ids[2]}`, `${ADMIN_TOKEN}-wrong`);
      await rest("DELETE", `/keys/${ids[0]}`, ADMIN_TOKEN);
      // The streams: a renewal session with a good and a bad item, and a watch read over gRPC and over SSE.
      const session = asClient.keepAliveStream();
      await session.renew({ keyId: held });
      await session.renew({ keyId: ids[2] as string, lease: 999 });
      session.end();
      for await (const _ of asAdmin.watch({ startRevision: 1 })) break;
      const sse = await rest("GET", "/events?startRevision=1", `${ADMIN_TOKEN}-wrong`);
      expect(sse.status).to.equal(401);
      clock.advance(400_000); // everything left expires
      await asAdmin.create({});
      await rest("GET", "/keys", CLIENT_TOKEN);
      const written = JSON.stringify(h.logs) + (await rest("GET", "/metrics")).text;
      expect(h.logs.length, "the run logged").to.be.above(20);
      for (const secret of [...ids, held, CLIENT_TOKEN, ADMIN_TOKEN]) expect(written, "a secret reached a log line or a metric").not.to.contain(secret);
    });
  });

  describe("the rate limit", () => {
    it("RESOURCE_EXHAUSTED past RATE_LIMIT per caller: 429 with Retry-After, gRPC with retry-after metadata; refills with time", async () => {
      const limited = await startHarness({ clock, env: { AUTH_TOKENS_FILE: tokensFile, RATE_LIMIT: "2" } });
      const client = createTokenClient(limited.app.grpcAddress, { token: CLIENT_TOKEN });
      try {
        const call = (): Promise<HttpResponse> => httpRequest(limited.app.httpAddress, "/keys", { headers: { authorization: `Bearer ${CLIENT_TOKEN}` } });
        expect((await call()).status).to.equal(404); // no key: allowed, answered
        expect((await call()).status).to.equal(404);
        const refused = await call();
        expect([refused.status, (refused.json() as { code: number }).code]).to.deep.equal([429, Code.RESOURCE_EXHAUSTED]);
        expect(refused.headers["retry-after"]).to.equal("1");
        const grpcRefusal = await client.acquire({}).then(
          () => expect.fail("expected RESOURCE_EXHAUSTED"),
          (error: ServiceError) => error,
        );
        expect(grpcRefusal.code).to.equal(Code.RESOURCE_EXHAUSTED);
        expect(grpcRefusal.metadata.get("retry-after")).to.deep.equal(["1"]);
        // Another caller has a bucket of its own.
        const admin = await httpRequest(limited.app.httpAddress, "/keys", { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
        expect(admin.status).to.equal(404);
        clock.advance(500); // one token back
        expect((await call()).status).to.equal(404);
        expect((await call()).status).to.equal(429);
      } finally {
        client.close();
        await limited.close();
      }
    });
  });
});
