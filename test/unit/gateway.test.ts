import { expect } from "chai";
import pino from "pino";
import { Code } from "../../src/service/status";
import { bindService } from "../../src/service/bind";
import { standardSteps } from "../../src/service/pipeline";
import { TokenService, tokenServiceHandlers } from "../../src/service/token-service";
import { Waiters } from "../../src/service/waiters";
import { MemoryStore } from "../../src/store/memory/memory-store";
import { descriptorRegistry } from "../../src/transport/descriptors";
import { Gateway, type GatewayRequest } from "../../src/transport/http/gateway";
import { routesFromDescriptors } from "../../src/transport/http/routes";
import { TOKEN_REST_OPTIONS } from "../../src/transport/http/token-rest";
import { ManualClock } from "../support/manual-clock";

/** The transcoder alone: no framework, no socket; plain request in, status/headers/body out. */
describe("Gateway.handle (framework-neutral)", () => {
  const clock = new ManualClock(Date.UTC(2026, 10, 25, 14, 3, 7, 123));
  const store = new MemoryStore(clock, { keyTtlMs: 300_000, blockTtlMs: 60_000, maxKeys: 10 });
  const bound = bindService(TokenService, tokenServiceHandlers({ store, waiters: new Waiters(store, clock), maxAcquireWaitMs: 0, watch: { stallMs: 10_000 } }), standardSteps({ logger: pino({ level: "silent" }) }));
  const gateway = new Gateway(routesFromDescriptors(descriptorRegistry(), ["tokens.v1.TokenService"]), bound.methods, TOKEN_REST_OPTIONS);
  const request = (method: string, path: string, body?: string): GatewayRequest => ({
    method,
    path,
    query: "",
    headers: { "x-request-id": "unit-1", ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : Buffer.from(body),
  });
  after(() => store.close());

  it("answers the contract's statuses and bodies", async () => {
    const created = await gateway.handle(request("POST", "/keys", "{}"));
    expect(created.status).to.equal(201);
    expect(created.headers).to.include({ "content-type": "application/json", "x-request-id": "unit-1" });
    const { keyId } = JSON.parse(created.body) as { keyId: string };
    const got = await gateway.handle(request("GET", `/keys/${keyId}`));
    expect(JSON.parse(got.body)).to.deep.equal({
      isBlocked: false,
      blockedAt: null,
      createdAt: "2026-11-25T14:03:07.123Z",
      expiresAt: "2026-11-25T14:08:07.123Z",
      releaseAt: null,
      state: "AVAILABLE",
      ttl: "300s",
      lease: null,
    });
    expect((await gateway.handle(request("GET", "/keys"))).status).to.equal(200);
    const empty = await gateway.handle(request("GET", "/keys"));
    expect([empty.status, empty.body]).to.deep.equal([404, "{}"]);
  });

  it("answers unknown paths, wrong methods and bad ids with the error body", async () => {
    const unknown = await gateway.handle(request("GET", "/nope"));
    expect([unknown.status, JSON.parse(unknown.body)]).to.deep.equal([404, { code: Code.NOT_FOUND, message: "Not Found", details: [] }]);
    const wrong = await gateway.handle(request("PATCH", "/keys/x"));
    expect(wrong.status).to.equal(405);
    expect(wrong.headers["allow"]).to.equal("DELETE, GET, PUT");
    const tooLong = await gateway.handle(request("GET", `/keys/${"x".repeat(129)}`));
    expect([tooLong.status, (JSON.parse(tooLong.body) as { code: number }).code]).to.deep.equal([400, Code.INVALID_ARGUMENT]);
  });
});
