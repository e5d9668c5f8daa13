import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createFileRegistry, type DescService, type FileRegistry, fromBinary, fromJson, type JsonObject, type JsonValue, toJson } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { expect } from "chai";
import express from "express";
import { type BoundMethod, bindMethods } from "../../src/service/bind";
import type { CallContext } from "../../src/service/pipeline";
import { CallError } from "../../src/service/status";
import { expressGateway } from "../../src/transport/http/express-adapter";
import { Gateway } from "../../src/transport/http/gateway";
import { type Route, routesFromDescriptors } from "../../src/transport/http/routes";
import { httpRequest, type HttpResponse } from "../support/http-request";
import { BUF, ROOT, run } from "../support/run";
import { CONTRACT_STATUS_OF_CODE } from "../support/contract-status";

/**
 * Routes come from the proto and nothing else: a fixture proto unrelated to tokens
 * is compiled with buf at test time, its google.api.http options become the route
 * table, and the gateway serves hand-made methods for it from a user's own Express
 * app, mounted with one app.use.
 */

const SERVICE = "fixture.v1.FixtureService";
const FIXTURE = join(ROOT, "test", "fixtures", "gateway");
const GOOGLE_API = join(ROOT, "third_party", "google", "api");

/** `buf build` of the fixture with the vendored google/api protos, in a throw-away workspace. */
async function buildFixture(): Promise<FileRegistry> {
  const dir = mkdtempSync(join(tmpdir(), "gateway-fixture-"));
  try {
    cpSync(join(FIXTURE, "fixture"), join(dir, "fixture"), { recursive: true });
    cpSync(GOOGLE_API, join(dir, "google", "api"), { recursive: true });
    writeFileSync(join(dir, "buf.yaml"), "version: v2\n");
    const image = join(dir, "image.binpb");
    const result = await run(BUF, ["build", dir, "-o", image], { cwd: dir });
    expect(result.code, result.stderr).to.equal(0);
    return createFileRegistry(fromBinary(FileDescriptorSetSchema, readFileSync(image)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface Call {
  readonly method: string;
  /** The request message as the RPC received it, in protojson (defaults omitted). */
  readonly request: JsonObject;
  readonly context: CallContext;
}

type FixtureHandler = (request: JsonObject) => JsonValue;

/** The fixture service bound by the real binder, from the registry's descriptors (no generated code). */
function bindFixture(service: DescService, calls: Call[]): readonly BoundMethod[] {
  return bindMethods(
    service,
    (method) => {
      const handler = HANDLERS[method.name] ?? (() => ({}));
      return async (request, context) => {
        const json = toJson(method.input, request) as JsonObject;
        calls.push({ method: method.name, request: json, context });
        return fromJson(method.output, handler(json));
      };
    },
    [],
  ).methods;
}

const HANDLERS: Readonly<Record<string, FixtureHandler>> = {
  Echo: (request) => {
    const name = typeof request["name"] === "string" ? request["name"] : "";
    const failure = /^fail-(\d+)$/.exec(name);
    if (failure !== null) throw new CallError(Number(failure[1]), `failed with ${failure[1]} on purpose`);
    if (name === "throw") throw new Error("a secret internal detail");
    return { request, method: "Echo" };
  },
  ListBooks: (request) => {
    const shelf = request["shelf"] as JsonObject | undefined;
    return { request, first: { name: `shelves/${String(shelf?.["id"])}/books/1`, title: "First" } };
  },
  ArchiveBook: (request) => {
    const note = request["note"] as JsonObject | undefined;
    return { book: { name: request["name"] ?? "", title: note?.["text"] ?? "" }, ignored: "not in the HTTP body" };
  },
  SearchBooks: (request) => ({ query: request["query"] ?? "" }),
  Rename: (request) => ({ request }),
  Hidden: () => ({}),
};

function listen(app: express.Express): Promise<{ server: Server; address: string }> {
  return new Promise((resolve, reject) => {
    const server = app.listen(0, "127.0.0.1");
    server.once("error", reject);
    server.once("listening", () => resolve({ server, address: `127.0.0.1:${(server.address() as AddressInfo).port}` }));
  });
}

function close(server: Server | undefined): Promise<void> {
  if (server === undefined) return Promise.resolve();
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

function expectJson(res: HttpResponse, status: number, body: unknown): void {
  expect(res.status, res.text).to.equal(status);
  expect(res.mediaType, res.text).to.equal("application/json");
  expect(res.json()).to.deep.equal(body);
}

function expectError(res: HttpResponse, status: number, code: number): void {
  expect(res.status, res.text).to.equal(status);
  expect(res.mediaType, res.text).to.equal("application/json");
  const body = res.json() as Record<string, unknown>;
  expect(Object.keys(body), res.text).to.deep.equal(["code", "message", "details"]);
  expect(body["code"], res.text).to.equal(code);
  expect(body["message"]).to.be.a("string").and.not.equal("");
  expect(body["details"]).to.deep.equal([]);
}

describe("REST gateway: routes from a fixture proto, mounted in a user's Express app", function () {
  this.timeout(60_000);
  let registry: FileRegistry;
  let routes: Route[];
  let gateway: Gateway;
  const calls: Call[] = [];
  let plain: { server: Server; address: string } | undefined;
  let chained: { server: Server; address: string } | undefined;
  let wrapped: { server: Server; address: string } | undefined;
  /** What the user's own middleware around the gateway saw: one line per request, in order. */
  const seenAround: string[] = [];

  before(async () => {
    registry = await buildFixture();
    routes = routesFromDescriptors(registry, [SERVICE]);
    const service = registry.getService(SERVICE);
    if (service === undefined) throw new Error(`${SERVICE} is not in the fixture image`);
    const methods = bindFixture(service, calls);
    gateway = new Gateway(routes, methods);

    // The gateway alone, with one app.use.
    const app = express();
    app.use(expressGateway(gateway, { bodyLimitBytes: 65536 }));
    plain = await listen(app);

    // The gateway in the middle of the user's own middleware, unknown paths falling through.
    const userApp = express();
    userApp.get("/before", (_req, res) => {
      res.json({ route: "before" });
    });
    userApp.use(expressGateway(gateway, { bodyLimitBytes: 65536, fallthrough: true }));
    userApp.get("/mine", (_req, res) => {
      res.json({ route: "mine" });
    });
    userApp.use((req, res) => {
      res.status(418).json({ fellThrough: `${req.method} ${req.url}` });
    });
    chained = await listen(userApp);

    // A typical app: its own logger first, express.json() for every route, the gateway
    // mounted under /api, and an error handler last. The gateway uses the parsed body.
    const typical = express();
    typical.use((req, res, next) => {
      seenAround.push(`before ${req.method} ${req.url}`);
      res.on("finish", () => seenAround.push(`after ${res.statusCode}`));
      next();
    });
    typical.use(express.json());
    typical.use("/api", expressGateway(gateway, { bodyLimitBytes: 65536, fallthrough: true }));
    typical.use((_req, res) => {
      res.status(404).json({ app: "not found" });
    });
    typical.use((_error: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
      res.status(400).json({ app: "bad body" });
    });
    wrapped = await listen(typical);
  });
  after(async () => {
    await close(plain?.server);
    await close(chained?.server);
    await close(wrapped?.server);
  });
  beforeEach(() => {
    calls.length = 0;
  });

  const call = (method: string, path: string, options: { headers?: Record<string, string>; body?: string | Buffer } = {}): Promise<HttpResponse> =>
    httpRequest((plain as { address: string }).address, path, { ...options, method });
  const json = { "content-type": "application/json" };

  it("derives the route table from the google.api.http options, additional_bindings and custom included, unannotated RPCs excluded", () => {
    expect(routes.map((route) => `${route.httpMethod} ${route.template.source} → ${route.grpcPath} body=${route.body} response_body=${route.responseBody}`)).to.deep.equal([
      "GET /v1/echo/{name} → /fixture.v1.FixtureService/Echo body= response_body=",
      "POST /v1/echo → /fixture.v1.FixtureService/Echo body=* response_body=",
      "GET /v1/shelves/{shelf.id}/books → /fixture.v1.FixtureService/ListBooks body= response_body=",
      "POST /v1/{name=shelves/*/books/*}:archive → /fixture.v1.FixtureService/ArchiveBook body=note response_body=book",
      "SEARCH /v1/books → /fixture.v1.FixtureService/SearchBooks body= response_body=",
      "PATCH /v1/things/{thing.thing_id} → /fixture.v1.FixtureService/Rename body=* response_body=",
    ]);
  });

  it("a path-bound field wins over a '*' body under either of its names, nested or not, and the rest of the body is kept", async () => {
    const body = JSON.stringify({ thing: { thingId: "body-1", thing_id: "body-2", displayName: "shown" }, new_name: "renamed" });
    expectJson(await call("PATCH", "/v1/things/from-path?thing.thingId=from-query", { headers: json, body }), 200, {
      request: { thing: { thingId: "from-path", displayName: "shown" }, newName: "renamed" },
    });
  });

  it("a path-bound field is not set by the query under either of its names", async () => {
    expectJson(await call("GET", "/v1/shelves/s1/books?shelf.id=s2&shelf.id=s3&pageSize=2"), 200, {
      request: { shelf: { id: "s1" }, pageSize: 2, verbose: false },
      first: { name: "shelves/s1/books/1", title: "First" },
    });
    const echoed = await call("GET", "/v1/echo/from-path?name=from-query");
    expect((echoed.json() as { request: { name: string } }).request.name).to.equal("from-path");
  });

  it("refuses a route whose RPC has no bound method", () => {
    const echoOnly = gateway.matcher.routes.filter((route) => route.grpcPath.endsWith("/Echo"));
    expect(() => new Gateway(routes, [])).to.throw(/unbound method \/fixture\.v1\.FixtureService\//);
    expect(() => new Gateway(echoOnly, [])).to.throw(/\/v1\/echo/);
  });

  it("GET /v1/echo/{name} reaches Echo with the path variable; the response has every field (EmitUnpopulated)", async () => {
    expectJson(await call("GET", "/v1/echo/abc"), 200, {
      request: { name: "abc", pageSize: 0, verbose: false, tags: [], inner: null, big: "0" },
      method: "Echo",
    });
    expect(calls.map((c) => [c.method, c.request])).to.deep.equal([["Echo", { name: "abc" }]]);
    expect(calls[0]?.context).to.include({ method: "/fixture.v1.FixtureService/Echo", transport: "http" });
  });

  it("decodes percent-encoded path variables", async () => {
    await call("GET", "/v1/echo/a%20b%C3%A9%3F%23");
    await call("GET", "/v1/echo/%E2%9C%93");
    expect(calls.map((c) => c.request["name"])).to.deep.equal(["a bé?#", "✓"]);
  });

  it("maps query parameters onto the other fields: int32, bool, int64, repeated, nested; proto or JSON names; unknown ones ignored", async () => {
    const res = await call(
      "GET",
      "/v1/echo/abc?page_size=25&verbose=true&tags=x&tags=y&inner.count=7&inner.label=l%20l&big=9007199254740993&utm_source=zzz&_=123&name=not-the-path",
    );
    const request = { name: "abc", pageSize: 25, verbose: true, tags: ["x", "y"], inner: { count: 7, label: "l l" }, big: "9007199254740993" };
    expectJson(res, 200, { request, method: "Echo" });
    await call("GET", "/v1/echo/def?pageSize=-3&verbose=false");
    expect(calls.map((c) => c.request)).to.deep.equal([request, { name: "def", pageSize: -3 }]);
    // Booleans in every spelling Go's strconv.ParseBool (grpc-gateway's parser) accepts.
    for (const [text, value] of [["1", true], ["t", true], ["TRUE", true], ["True", true], ["0", false], ["F", false], ["FALSE", false]] as const) {
      const res = await call("GET", `/v1/echo/b?verbose=${text}`);
      expect((res.json() as { request: { verbose: boolean } }).request.verbose, `verbose=${text}`).to.equal(value);
    }
  });

  it("rejects query values that do not fit their field with 400 INVALID_ARGUMENT, before the RPC runs", async () => {
    for (const query of ["page_size=abc", "page_size=1.5", "page_size=99999999999", "verbose=maybe", "inner=x"]) {
      expectError(await call("GET", `/v1/echo/abc?${query}`), 400, 3);
    }
    expect(calls).to.deep.equal([]);
  });

  it('POST /v1/echo (additional binding, body "*") reaches the same RPC with the body as the request; query ignored', async () => {
    const body = JSON.stringify({ name: "posted", page_size: 3, verbose: true, inner: { label: "l" }, tags: ["t"] });
    const res = await call("POST", "/v1/echo?name=from-query&page_size=99", { headers: json, body });
    expectJson(res, 200, {
      request: { name: "posted", pageSize: 3, verbose: true, tags: ["t"], inner: { count: 0, label: "l" }, big: "0" },
      method: "Echo",
    });
    expectJson(await call("POST", "/v1/echo"), 200, {
      request: { name: "", pageSize: 0, verbose: false, tags: [], inner: null, big: "0" },
      method: "Echo",
    });
    expect(calls.map((c) => [c.method, c.request])).to.deep.equal([
      ["Echo", { name: "posted", pageSize: 3, verbose: true, tags: ["t"], inner: { label: "l" } }],
      ["Echo", {}],
    ]);
    expectError(await call("POST", "/v1/echo", { headers: json, body: "{" }), 400, 3);
    expectError(await call("POST", "/v1/echo", { headers: json, body: '{"pageSize":"many"}' }), 400, 3);
  });

  it("binds a nested field from the path and the rest from the query", async () => {
    const res = await call("GET", "/v1/shelves/s%2D1/books?page_size=10&verbose=true&shelf.id=not-the-path&unknown.deep=1");
    const request = { shelf: { id: "s-1" }, pageSize: 10, verbose: true };
    expectJson(res, 200, { request, first: { name: "shelves/s-1/books/1", title: "First" } });
    expect(calls.map((c) => [c.method, c.request])).to.deep.equal([["ListBooks", request]]);
  });

  it("matches a multi-segment variable and a custom verb, fills the body field, answers the response_body field", async () => {
    const res = await call("POST", "/v1/shelves/a/books/b%20c:archive?force=true", { headers: json, body: '{"text":"old"}' });
    expectJson(res, 200, { name: "shelves/a/books/b c", title: "old" });
    expect(calls.map((c) => [c.method, c.request])).to.deep.equal([
      ["ArchiveBook", { name: "shelves/a/books/b c", note: { text: "old" }, force: true }],
    ]);
    expectError(await call("POST", "/v1/shelves/a/books/b", { headers: json, body: "{}" }), 404, 5);
    expectError(await call("POST", "/v1/shelves/a:archive", { headers: json, body: "{}" }), 404, 5);
    expectError(await call("POST", "/v1/shelves/a/books/b/c:archive", { headers: json, body: "{}" }), 404, 5);
    const wrong = await call("GET", "/v1/shelves/a/books/b:archive");
    expectError(wrong, 405, 12);
    expect(wrong.headers["allow"]).to.equal("POST");
  });

  it("serves a custom HTTP method binding", async () => {
    expectJson(await call("SEARCH", "/v1/books?query=dune"), 200, { query: "dune" });
    const wrong = await call("GET", "/v1/books");
    expectError(wrong, 405, 12);
    expect(wrong.headers["allow"]).to.equal("SEARCH");
  });

  it("answers a known path with the wrong method 405 with Allow", async () => {
    for (const [method, path, allow] of [
      ["PUT", "/v1/echo/abc", "GET"],
      ["DELETE", "/v1/echo", "POST"],
      ["GET", "/v1/echo", "POST"],
    ] as const) {
      const res = await call(method, path);
      expectError(res, 405, 12);
      expect(res.headers["allow"], `${method} ${path}`).to.equal(allow);
    }
  });

  it("does not route the token service's paths, nor the unannotated RPC", async () => {
    for (const [method, path] of [
      ["POST", "/keys"],
      ["GET", "/keys"],
      ["GET", "/keys/abc"],
      ["PUT", "/keys/abc"],
      ["DELETE", "/keys/abc"],
      ["PUT", "/keepalive/abc"],
      ["GET", "/healthz"],
      ["POST", "/fixture.v1.FixtureService/Hidden"],
      ["POST", "/v1/hidden"],
    ] as const) {
      expectError(await call(method, path), 404, 5);
    }
    expect(calls).to.deep.equal([]);
  });

  it("maps every gRPC code an RPC fails with to the contract's HTTP status, with the error body", async () => {
    for (const [code, status] of Object.entries(CONTRACT_STATUS_OF_CODE)) {
      const res = await call("GET", `/v1/echo/fail-${code}`);
      expectError(res, status, Number(code));
      expect((res.json() as { message: string }).message).to.equal(`failed with ${code} on purpose`);
    }
    const internal = await call("GET", "/v1/echo/throw");
    expectError(internal, 500, 13);
    expect(internal.text).to.not.include("secret");
  });

  it("carries the caller's X-Request-Id into the call context and back", async () => {
    const res = await call("GET", "/v1/echo/abc", { headers: { "x-request-id": "fixture-req-1" } });
    expect(res.headers["x-request-id"]).to.equal("fixture-req-1");
    expect(calls[0]?.context.requestId).to.equal("fixture-req-1");
  });

  it("applies the body limit the user configured (413 with the error body)", async () => {
    const res = await call("POST", "/v1/echo", { headers: json, body: `{}${" ".repeat(65536)}` });
    expect(res.status, res.text).to.equal(413);
    expect(res.mediaType).to.equal("application/json");
    expect(Object.keys(res.json() as object)).to.deep.equal(["code", "message", "details"]);
    expect(calls).to.deep.equal([]);
  });

  it("without fallthrough, an unknown path is the gateway's JSON 404", async () => {
    expectError(await call("GET", "/mine"), 404, 5);
  });

  describe("with fallthrough: true", () => {
    const userCall = (method: string, path: string): Promise<HttpResponse> =>
      httpRequest((chained as { address: string }).address, path, { method });

    it("unknown paths reach the user's next middleware; the user's routes before and after the gateway work", async () => {
      expectJson(await userCall("GET", "/before"), 200, { route: "before" });
      expectJson(await userCall("GET", "/mine"), 200, { route: "mine" });
      expectJson(await userCall("GET", "/keys/abc?x=1"), 418, { fellThrough: "GET /keys/abc?x=1" });
      expectJson(await userCall("POST", "/v1/echo/too/deep"), 418, { fellThrough: "POST /v1/echo/too/deep" });
      expect(calls).to.deep.equal([]);
    });

    it("routed paths are still answered by the gateway, wrong methods included", async () => {
      expectJson(await userCall("GET", "/v1/echo/through"), 200, {
        request: { name: "through", pageSize: 0, verbose: false, tags: [], inner: null, big: "0" },
        method: "Echo",
      });
      const wrong = await userCall("PUT", "/v1/echo/through");
      expectError(wrong, 405, 12);
      expect(wrong.headers["allow"]).to.equal("GET");
      expect(calls.map((c) => c.request)).to.deep.equal([{ name: "through" }]);
    });
  });

  describe("in a typical app: logger first, express.json(), mounted under /api", () => {
    const appCall = (method: string, path: string, body?: string): Promise<HttpResponse> =>
      httpRequest((wrapped as { address: string }).address, path, {
        method,
        ...(body === undefined ? {} : { body, headers: { "content-type": "application/json" } }),
      });

    it("answers under the prefix, with the body express.json() already parsed, and the app's middleware runs around it", async () => {
      seenAround.length = 0;
      expectJson(await appCall("POST", "/api/v1/echo", JSON.stringify({ name: "parsed", pageSize: 3 })), 200, {
        request: { name: "parsed", pageSize: 3, verbose: false, tags: [], inner: null, big: "0" },
        method: "Echo",
      });
      expect(seenAround).to.deep.equal(["before POST /api/v1/echo", "after 200"]);
      expectJson(await appCall("GET", "/v1/echo/unprefixed"), 404, { app: "not found" });
    });

    it("a malformed body express.json() refused never reaches the gateway; a path-bound field still wins over the parsed body", async () => {
      const archived = await appCall("POST", "/api/v1/shelves/1/books/2:archive", JSON.stringify({ text: "hello", name: "elsewhere" }));
      expect(archived.status, archived.text).to.equal(200);
      expect((archived.json() as { name: string }).name).to.equal("shelves/1/books/2");
      // express.json()'s own refusal, handled by the app's error handler, before the gateway.
      expectJson(await appCall("POST", "/api/v1/echo", "{"), 400, { app: "bad body" });
      expect(calls.filter((c) => c.method === "Echo" && c.request["name"] === undefined)).to.deep.equal([]);
    });
  });
});
