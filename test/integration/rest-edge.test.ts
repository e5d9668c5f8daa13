import { createServer, type ServerResponse } from "node:http";
import { type AddressInfo, connect as tcpConnect } from "node:net";
import { Metadata } from "@grpc/grpc-js";
import { expect } from "chai";
import { Code } from "../../clients";
import { toCallError } from "../../src/service/status";
import type { EventOutput } from "../../src/transport/http/event-stream";
import { send } from "../../src/transport/http/serve";
import { startHarness, type Harness } from "../support/harness";
import { httpRequest, type HttpResponse } from "../support/http-request";
import { ManualClock } from "../support/manual-clock";

/**
 * The HTTP edge as an attacker and a careless client meet it: input rules (a field
 * the path binds is never set by the query or the body), nothing the caller sent
 * is echoed in an error, every error has the JSON body (Node's parser errors too),
 * bodies refused by their declared size before they are read, and one request-id
 * rule on both transports.
 */

/** Planted in a request to show that no answer quotes it. */
const MARKER = "zq9MARKzq9";
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function expectErrorBody(res: { status: number; text: string; mediaType: string }, status: number, code: number): void {
  expect(res.status, res.text).to.equal(status);
  expect(res.mediaType, res.text).to.equal("application/json");
  const body = JSON.parse(res.text) as Record<string, unknown>;
  expect(Object.keys(body), res.text).to.deep.equal(["code", "message", "details"]);
  expect(body["code"], res.text).to.equal(code);
}

/** Raw bytes on a fresh TCP connection; resolves with everything the server sent before closing. */
function rawExchange(address: string, bytes: string | Buffer, endAfterWrite = true): Promise<string> {
  const colon = address.lastIndexOf(":");
  return new Promise((resolve, reject) => {
    const socket = tcpConnect(Number(address.slice(colon + 1)), address.slice(0, colon));
    const chunks: Buffer[] = [];
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.on("error", reject);
    socket.on("close", () => resolve(Buffer.concat(chunks).toString("latin1")));
    socket.write(bytes);
    if (endAfterWrite) socket.end();
  });
}

/** Status, media type and body of a raw HTTP/1.1 answer. */
function parseRaw(text: string): { status: number; mediaType: string; text: string } {
  const [head = "", body = ""] = text.split("\r\n\r\n");
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
  const mediaType = (/\r\ncontent-type: *([^;\r]+)/i.exec(head)?.[1] ?? "").trim().toLowerCase();
  return { status, mediaType, text: body };
}

describe("the HTTP edge", function () {
  this.timeout(30_000);
  const clock = new ManualClock();
  let h: Harness;
  const call = (method: string, path: string, options: { headers?: Record<string, string>; body?: string } = {}): Promise<HttpResponse> =>
    httpRequest(h.app.httpAddress, path, { ...options, method });
  const create = async (): Promise<string> => (JSON.parse((await call("POST", "/keys")).text) as { keyId: string }).keyId;

  beforeEach(async () => {
    h = await startHarness({ clock });
  });
  afterEach(() => h.close());

  describe("a field bound by the path is never set by the query or the body", () => {
    it("DELETE /keys/A?keyId=B and ?key_id=B delete A, never B", async () => {
      for (const name of ["keyId", "key_id"]) {
        const [a, b] = [await create(), await create()];
        expect((await call("DELETE", `/keys/${a}?${name}=${b}`)).status).to.equal(200);
        expect((await call("GET", `/keys/${a}`)).status, `A after ?${name}=B`).to.equal(404);
        expect((await call("GET", `/keys/${b}`)).status, `B after ?${name}=B`).to.equal(200);
      }
    });

    it("PUT /keys/A and /keepalive/A with B in the query or a body act on A", async () => {
      const [a, b] = [await create(), await create()];
      await h.client.acquire({}); // one of them is now blocked
      await h.client.acquire({}); // both are
      const json = { "content-type": "application/json" };
      expect((await call("PUT", `/keys/${a}?key_id=${b}&keyId=${b}`, { headers: json, body: JSON.stringify({ keyId: b, key_id: b }) })).status).to.equal(200);
      expect((await h.client.get({ keyId: a })).isBlocked, "A released").to.equal(false);
      expect((await h.client.get({ keyId: b })).isBlocked, "B untouched").to.equal(true);
      clock.advance(1000);
      expect((await call("PUT", `/keepalive/${a}?keyId=${b}`)).status).to.equal(200);
      expect((await h.client.get({ keyId: a })).expiresAt?.getTime()).to.equal(clock.now() + 300_000);
      expect((await h.client.get({ keyId: b })).expiresAt?.getTime()).to.equal(clock.now() - 1000 + 300_000);
    });
  });

  describe("nothing the caller sent is echoed in an error", () => {
    const MARK = "zq9MARKzq9";

    it("in the content type, a malformed body, a bad id, an unknown path or method, a bad escape", async () => {
      const answers = [
        await call("POST", "/keys", { headers: { "content-type": `text/${MARK}` }, body: "{}" }),
        await call("POST", "/keys", { headers: { "content-type": "application/json" }, body: `{"${MARK}` }),
        await call("POST", "/keys", { headers: { "content-type": "application/json" }, body: `[${MARK}]` }),
        await call("GET", `/keys/${MARK}${"x".repeat(130)}`),
        await call("GET", `/keys/${MARK}`),
        await call("GET", `/${MARK}`),
        await call(MARK.toUpperCase(), "/keys"),
        await call("GET", `/keys/%zz${MARK}`),
        await call("POST", "/keys", { headers: { "content-type": "application/json", "content-encoding": MARK }, body: "{}" }),
      ];
      for (const res of answers) {
        expect(res.status, res.text).to.be.at.least(400);
        expect(res.text.toLowerCase(), res.text).not.to.contain(MARK.toLowerCase());
      }
    });

    it("over gRPC too: an over-long key id is INVALID_ARGUMENT without the id", async () => {
      const failure = await h.client.get({ keyId: `${MARK}${"x".repeat(200)}` }).then(
        () => expect.fail("expected INVALID_ARGUMENT"),
        (error: { code: number; details: string }) => error,
      );
      expect(failure.code).to.equal(Code.INVALID_ARGUMENT);
      expect(failure.details).not.to.contain(MARK);
    });
  });

  describe("every error has the JSON body, Node's parser errors included", () => {
    it("a bad method token is 400, huge headers 431, a malformed chunk 400: each with the error body", async () => {
      const address = h.app.httpAddress;
      expectErrorBody(parseRaw(await rawExchange(address, "GE T /keys HTTP/1.1\r\nHost: x\r\n\r\n")), 400, Code.INVALID_ARGUMENT);
      const huge = `GET /keys HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(20_000)}\r\n\r\n`;
      expectErrorBody(parseRaw(await rawExchange(address, huge)), 431, Code.RESOURCE_EXHAUSTED);
      const badChunk = "POST /keys HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n";
      expectErrorBody(parseRaw(await rawExchange(address, badChunk)), 400, Code.INVALID_ARGUMENT);
    });

    it("an HTTP/1.1 request without Host is 400 with the error body (Node's own answer had none); HTTP/1.0 needs no Host", async () => {
      const address = h.app.httpAddress;
      for (const request of ["GET /keys HTTP/1.1\r\n\r\n", "GET /healthz HTTP/1.1\r\n\r\n", "POST /keys HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}"]) {
        const res = parseRaw(await rawExchange(address, request));
        expectErrorBody(res, 400, Code.INVALID_ARGUMENT);
        expect(res.text).to.contain("Host");
      }
      expect(parseRaw(await rawExchange(address, "GET /healthz HTTP/1.0\r\n\r\n")).status).to.equal(200);
    });

    it("an Expect other than 100-continue is 417 with the error body (Node's own answer had none); 100-continue still works", async () => {
      const address = h.app.httpAddress;
      for (const expectation of ["foo", MARKER, ""]) {
        const res = parseRaw(await rawExchange(address, `GET /healthz HTTP/1.1\r\nHost: x\r\nExpect: ${expectation}\r\n\r\n`));
        expectErrorBody(res, 417, Code.INVALID_ARGUMENT);
        expect(res.text).not.to.contain(MARKER);
      }
      const continued = await call("POST", "/keys", { headers: { expect: "100-continue", "content-type": "application/json" }, body: "{}" });
      expect(continued.status).to.equal(201);
    });

    it("CONNECT is answered as any request (405 with Allow on a known path, 404 elsewhere, the error body), then the connection closes", async () => {
      const address = h.app.httpAddress;
      const known = await rawExchange(address, "CONNECT /keys HTTP/1.1\r\nHost: x\r\n\r\n", false);
      expectErrorBody(parseRaw(known), 405, Code.UNIMPLEMENTED);
      expect(known).to.match(/\r\nallow: GET, POST\r\n/i);
      const tunnel = parseRaw(await rawExchange(address, `CONNECT ${MARKER}.example:443 HTTP/1.1\r\nHost: x\r\n\r\n`, false));
      expectErrorBody(tunnel, 404, Code.NOT_FOUND);
      expect(tunnel.text).not.to.contain(MARKER);
      expectErrorBody(parseRaw(await rawExchange(address, "CONNECT /healthz HTTP/1.1\r\nHost: x\r\n\r\n", false)), 405, Code.UNIMPLEMENTED);
    });

    it("GET /healthz and /openapi.json answer GET and HEAD; another method is 405 with Allow and the error body", async () => {
      for (const path of ["/healthz", "/openapi.json"]) {
        expect((await call("GET", path)).status).to.equal(200);
        expect((await call("HEAD", path)).status).to.equal(200);
        const wrong = await call("POST", path, { body: "{}" });
        expectErrorBody(wrong, 405, Code.UNIMPLEMENTED);
        expect(wrong.headers["allow"]).to.equal("GET, HEAD");
        expect(wrong.headers["x-request-id"]).to.match(UUID);
      }
    });

    it("a Content-Encoding the service does not decode is 415, before the body is read", async () => {
      const res = await call("POST", "/keys", { headers: { "content-type": "application/json", "content-encoding": "gzip" }, body: "not gzip" });
      expectErrorBody(res, 415, Code.INVALID_ARGUMENT);
    });
  });

  describe("bodies are limited before they are read", () => {
    it("Content-Length: 200 MiB is refused with 413 at once, with none of the body sent, and the connection closes", async () => {
      const head = `POST /keys HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${200 * 1024 * 1024}\r\n\r\n`;
      // Headers only, the socket left open: the answer must come without waiting for the body.
      const answer = parseRaw(await rawExchange(h.app.httpAddress, head, false));
      expectErrorBody(answer, 413, Code.RESOURCE_EXHAUSTED);
    });

    it("on a route that takes no body too, /healthz and /openapi.json included", async () => {
      for (const path of ["/keys", "/healthz", "/openapi.json"]) {
        const head = `GET ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: ${200 * 1024 * 1024}\r\n\r\n`;
        expectErrorBody(parseRaw(await rawExchange(h.app.httpAddress, head, false)), 413, Code.RESOURCE_EXHAUSTED);
      }
    });
  });

  describe("a Server-Sent Events reader that leaves", () => {
    /**
     * What a stream's write gives when its caller has gone, through the service's own
     * `send`: before the stream opened (`destroyFirst`) or while it runs.
     */
    async function writeAfterLeaving(destroyFirst: boolean): Promise<unknown> {
      let failure: unknown = "no failure";
      let done: () => void = () => undefined;
      const written = new Promise<void>((resolve) => (done = resolve));
      const server = createServer((_req, res: ServerResponse) => {
        if (destroyFirst) res.destroy();
        const pipe = async (output: EventOutput): Promise<void> => {
          res.destroy(); // the caller leaves as the stream runs
          await output.write("data: {}\n\n").catch((error: unknown) => (failure = error));
          done();
        };
        send(res, { status: 200, headers: { "content-type": "text/event-stream" }, body: "", events: { pipe } });
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      const socket = tcpConnect((server.address() as AddressInfo).port, "127.0.0.1");
      socket.on("error", () => undefined);
      socket.write("GET /events HTTP/1.1\r\nHost: x\r\n\r\n");
      await written;
      socket.destroy();
      await new Promise((resolve) => server.close(resolve));
      return failure;
    }

    it("a write after the caller left fails as CANCELLED, so a REST Watch ends as the caller's doing, not INTERNAL (found by the fuzz)", async () => {
      for (const destroyFirst of [false, true]) {
        const failure = await writeAfterLeaving(destroyFirst);
        expect(failure, `destroyed ${destroyFirst ? "before" : "after"} the stream opened`).to.be.instanceOf(Error);
        expect(toCallError(failure).code, `destroyed ${destroyFirst ? "before" : "after"} the stream opened`).to.equal(Code.CANCELLED);
      }
    });
  });

  describe("one request-id rule for both transports", () => {
    /** The response metadata of one gRPC Create. */
    async function createWithMetadata(requestId: string | undefined): Promise<string | undefined> {
      const metadata = new Metadata();
      if (requestId !== undefined) metadata.set("x-request-id", requestId);
      const echoed = await new Promise<Metadata>((resolve, reject) => {
        const call = h.client.raw.create({}, metadata, (error) => (error ? reject(error) : undefined));
        call.on("metadata", resolve);
      });
      const [value] = echoed.get("x-request-id");
      return typeof value === "string" ? value : undefined;
    }

    it("gRPC echoes a usable x-request-id as response metadata, and makes one when there is none or it is unusable", async () => {
      expect(await createWithMetadata("grpc-req-7")).to.equal("grpc-req-7");
      expect(await createWithMetadata(undefined)).to.match(UUID);
      expect(await createWithMetadata("has spaces")).to.match(UUID);
      expect(await createWithMetadata("a".repeat(129))).to.match(UUID);
    });

    it("REST applies the same rule: the same ids are kept or replaced", async () => {
      const idOf = async (id: string) => (await call("POST", "/keys", { headers: { "x-request-id": id } })).headers["x-request-id"];
      expect(await idOf("grpc-req-7")).to.equal("grpc-req-7");
      expect(await idOf("has spaces")).to.match(UUID);
      expect(await idOf("a".repeat(129))).to.match(UUID);
    });

    it("the id reaches the call's log line on both transports", async () => {
      await call("POST", "/keys", { headers: { "x-request-id": "rest-log-1" } });
      await createWithMetadata("grpc-log-1");
      const ids = h.logs.filter((line) => line["msg"] === "call").map((line) => [line["transport"], line["requestId"]]);
      expect(ids).to.deep.include.members([
        ["http", "rest-log-1"],
        ["grpc", "grpc-log-1"],
      ]);
    });
  });
});
