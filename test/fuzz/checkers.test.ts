import { create, type DescMethod, toBinary } from "@bufbuild/protobuf";
import { expect } from "chai";
import { GetRequestSchema, KeepAliveStreamResponseSchema, TokenService } from "../../src/generated/tokens/v1/tokens_pb";
import { grpcMessage } from "../support/raw-http2";
import { expectationOf, type GrpcCase, type GrpcCaseFacts } from "./lib/grpc-cases";
import { grpcProblems } from "./lib/grpc-check";
import type { GrpcOutcome } from "./lib/grpc-exchange";
import { parseHttp1Response } from "./lib/http1-response";
import { marker } from "./lib/markers";
import { Random } from "./lib/random";
import { restProblems } from "./lib/rest-check";
import type { RestOutcome } from "./lib/rest-exchange";
import { caseIndexes, DEFAULT_CASES, DEFAULT_SEED, fuzzSettings } from "./lib/settings";

/**
 * The fuzz's checkers must bite: each is shown a deliberately bad answer and must find
 * it wrong, and a good one and must find nothing. A checker that passes everything
 * would make the whole suite pass for nothing.
 */

const MARK = marker(42);

/** An answer as the raw exchange would report it, from the bytes a server might send. */
function answer(raw: string, method = "GET"): RestOutcome {
  const parsed = parseHttp1Response(Buffer.from(raw, "latin1"), method, true);
  if (parsed.kind !== "done") throw new Error(`test answer does not parse: ${parsed.kind}`);
  return { kind: "answered", response: parsed.response };
}

function json(status: string, body: string, extra = ""): string {
  return `HTTP/1.1 ${status}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`;
}

const get = (target: string) => ({ method: "GET", target, halfClose: false });

describe("fuzz checkers: REST answers", () => {
  it("pass a well-formed error and a success", () => {
    expect(restProblems(get("/keys/x"), answer(json("404 Not Found", '{"code":5,"message":"key not found","details":[]}')))).to.deep.equal([]);
    expect(restProblems(get("/stats"), answer(json("200 OK", '{"total":1}')))).to.deep.equal([]);
    expect(restProblems(get("/keys/x"), answer(json("405 Method Not Allowed", '{"code":12,"message":"Method Not Allowed","details":[]}', "allow: GET\r\n")))).to.deep.equal([]);
  });

  it("catch a 400 with an empty body and no content type (Node's own answers)", () => {
    const problems = restProblems(get("/keys"), answer("HTTP/1.1 400 Bad Request\r\nconnection: close\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n"));
    expect(problems.join("\n")).to.match(/not application\/json/).and.match(/not JSON/);
  });

  it("catch any 5xx, even with a proper error body", () => {
    expect(restProblems(get("/keys"), answer(json("500 Internal Server Error", '{"code":13,"message":"internal error","details":[]}')))).to.have.length(1);
    expect(restProblems(get("/keys"), answer(json("503 Service Unavailable", '{"code":14,"message":"unavailable","details":[]}')))).to.have.length(1);
  });

  it("catch a body or a header that quotes a marker, but not X-Request-Id (echoed by design)", () => {
    expect(restProblems(get(`/keys/${MARK}`), answer(json("404 Not Found", `{"code":5,"message":"no key ${MARK}","details":[]}`)))).to.have.length(1);
    expect(restProblems(get("/keys"), answer(json("404 Not Found", '{"code":5,"message":"x","details":[]}', `x-debug: ${MARK.toLowerCase()}\r\n`)))).to.have.length(1);
    expect(restProblems(get("/keys/x"), answer(json("404 Not Found", '{"code":5,"message":"x","details":[]}', `x-request-id: ${MARK}\r\n`)))).to.deep.equal([]);
  });

  it("catch an error body of the wrong shape, or a code that does not match the status", () => {
    expect(restProblems(get("/keys/x"), answer(json("400 Bad Request", '{"error":"bad"}'))).join("\n")).to.match(/fields error/);
    expect(restProblems(get("/keys/x"), answer(json("400 Bad Request", '{"code":5,"message":"x","details":[]}'))).join("\n")).to.match(/maps to 404/);
    expect(restProblems(get("/keys/x"), answer(json("400 Bad Request", '{"code":3,"message":"","details":[]}'))).join("\n")).to.match(/without a message/);
    expect(restProblems(get("/keys/x"), answer(json("405 Method Not Allowed", '{"code":12,"message":"x","details":[]}'))).join("\n")).to.match(/without Allow/);
    expect(restProblems(get("/keys/x"), answer(json("401 Unauthorized", '{"code":16,"message":"x","details":[]}'))).join("\n")).to.match(/WWW-Authenticate/);
  });

  it("allow 404 {} for GET /keys only (the documented exception)", () => {
    expect(restProblems(get("/keys"), answer(json("404 Not Found", "{}")))).to.deep.equal([]);
    expect(restProblems(get("/keys?wait=1s"), answer(json("404 Not Found", "{}")))).to.deep.equal([]);
    expect(restProblems(get("/keys/x"), answer(json("404 Not Found", "{}")))).not.to.deep.equal([]);
    expect(restProblems({ method: "DELETE", target: "/keys", halfClose: false }, answer(json("404 Not Found", "{}")))).not.to.deep.equal([]);
  });

  it("take a HEAD answer without a body, and catch one with a body", () => {
    const head = { method: "HEAD", target: "/keys", halfClose: false };
    const headers = 'HTTP/1.1 405 Method Not Allowed\r\ncontent-type: application/json\r\nallow: GET, POST\r\ncontent-length: 50\r\n\r\n';
    expect(restProblems(head, answer(headers, "HEAD"))).to.deep.equal([]);
    expect(restProblems(head, { kind: "answered", response: { version: "HTTP/1.1", status: 405, reason: "", headers: [["content-type", "application/json"], ["allow", "GET"]], body: Buffer.from("{}"), streaming: false } })).to.have.length(1);
  });

  it("take a silent close only from a client that gave up first; never no answer, never a broken one", () => {
    expect(restProblems({ ...get("/keys"), halfClose: true }, { kind: "closed-silently" })).to.deep.equal([]);
    expect(restProblems(get("/keys"), { kind: "closed-silently" })).to.have.length(1);
    expect(restProblems(get("/keys"), { kind: "no-answer", received: Buffer.alloc(0) })).to.have.length(1);
    expect(restProblems({ ...get("/keys"), nodeStalls: true }, { kind: "no-answer", received: Buffer.alloc(0) })).to.deep.equal([]);
    expect(restProblems(get("/keys"), { kind: "malformed", reason: "cut", received: Buffer.from("HTTP/1.1 2") })).to.have.length(1);
  });
});

describe("fuzz checkers: the HTTP/1.1 response parser", () => {
  it("reads Content-Length and chunked bodies, skips 100 Continue, and waits for what is missing", () => {
    const chunked = parseHttp1Response(Buffer.from("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"), "POST", false);
    expect(chunked.kind === "done" && [chunked.response.status, chunked.response.body.toString()]).to.deep.equal([201, "abcde"]);
    expect(parseHttp1Response(Buffer.from("HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nab"), "GET", false).kind).to.equal("incomplete");
    expect(parseHttp1Response(Buffer.from("HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nab"), "GET", true).kind).to.equal("malformed");
    expect(parseHttp1Response(Buffer.from("HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n"), "HEAD", false).kind).to.equal("done");
    expect(parseHttp1Response(Buffer.from("garbage\r\n\r\n"), "GET", false).kind).to.equal("malformed");
  });
});

describe("fuzz checkers: gRPC outcomes", () => {
  const method = (name: keyof typeof TokenService.method): DescMethod => TokenService.method[name];
  const getMessage = grpcMessage(toBinary(GetRequestSchema, create(GetRequestSchema, { keyId: "k" })));
  const facts = (overrides: Partial<GrpcCaseFacts> = {}): GrpcCaseFacts => ({
    method: method("get"),
    httpMethod: "POST",
    contentType: "application/grpc",
    authorization: undefined,
    timeout: undefined,
    encoding: undefined,
    payload: getMessage,
    headers: [],
    ...overrides,
  });
  const caseOf = (f: GrpcCaseFacts, secured = false): GrpcCase => ({
    index: 0,
    path: `/tokens.v1.TokenService/${f.method?.name ?? "Nope"}`,
    method: f.method,
    httpMethod: f.httpMethod,
    headers: [],
    messages: [],
    payload: f.payload,
    ending: "end",
    resetCode: 8,
    expectation: expectationOf(f, { secured }),
  });
  const ended = (status: number, message = "", data: Buffer = Buffer.alloc(0)): GrpcOutcome => ({
    headers: { ":status": 200 },
    trailers: { "grpc-status": String(status), "grpc-message": encodeURIComponent(message) },
    data,
    resetByClient: false,
    rstCode: 0,
    timedOut: false,
    error: undefined,
  });

  it("catch INTERNAL for a valid message, and allow it for an unparsable one, a bad compressed flag or a malformed grpc-timeout", () => {
    expect(grpcProblems(caseOf(facts()), ended(13)).join("\n")).to.match(/status INTERNAL, where this case allows only/);
    expect(grpcProblems(caseOf(facts({ payload: grpcMessage(Buffer.from([0xff, 0xff, 0xff])) })), ended(13))).to.deep.equal([]);
    const flagged = Buffer.from(getMessage);
    flagged[0] = 1;
    expect(grpcProblems(caseOf(facts({ payload: flagged })), ended(13))).to.deep.equal([]);
    expect(grpcProblems(caseOf(facts({ timeout: "1x" })), ended(13))).to.deep.equal([]);
    expect(grpcProblems(caseOf(facts({ timeout: "100m" })), ended(13))).to.have.length(1);
  });

  it("catch statuses the method cannot give: UNKNOWN, UNAVAILABLE, Stats's INVALID_ARGUMENT, UNAUTHENTICATED on an open server", () => {
    expect(grpcProblems(caseOf(facts()), ended(2))).to.have.length(1);
    expect(grpcProblems(caseOf(facts()), ended(14))).to.have.length(1);
    expect(grpcProblems(caseOf(facts({ method: method("stats"), payload: grpcMessage(new Uint8Array(0)) })), ended(3))).to.have.length(1);
    expect(grpcProblems(caseOf(facts()), ended(16))).to.have.length(1);
    expect(grpcProblems(caseOf(facts(), true), ended(16))).to.deep.equal([]);
    expect(grpcProblems(caseOf(facts(), true), ended(5))).to.have.length(1); // no token: never served
  });

  it("catch a call that ends without a grpc-status, unless the client reset it or the content type is not gRPC (415)", () => {
    const silent: GrpcOutcome = { ...ended(0), trailers: undefined };
    expect(grpcProblems(caseOf(facts()), silent)).to.have.length(1);
    expect(grpcProblems(caseOf(facts()), { ...silent, resetByClient: true })).to.deep.equal([]);
    expect(grpcProblems(caseOf(facts({ contentType: "application/json" })), { ...silent, headers: { ":status": 415 } })).to.deep.equal([]);
    expect(grpcProblems(caseOf(facts({ contentType: "application/json" })), ended(0)).join("\n")).to.match(/415/);
    expect(grpcProblems(caseOf(facts()), { ...silent, timedOut: true }).join("\n")).to.match(/did not end/);
  });

  it("catch a grpc-message that quotes a marker, and answers that do not fit the method", () => {
    expect(grpcProblems(caseOf(facts()), ended(5, `no key ${MARK}`))).to.have.length(1);
    const two = Buffer.concat([grpcMessage(new Uint8Array(0)), grpcMessage(new Uint8Array(0))]);
    expect(grpcProblems(caseOf(facts()), ended(0, "", two)).join("\n")).to.match(/2 answers to a unary call/);
    expect(grpcProblems(caseOf(facts()), ended(0, "", grpcMessage(Buffer.from([0xff])))).join("\n")).to.match(/not a tokens.v1.GetResponse/);
  });

  it("count KeepAliveStream's answers, one per request, and catch a message quoting a marker", () => {
    const requests = Buffer.concat([getMessage, getMessage]);
    const stream = caseOf(facts({ method: method("keepAliveStream"), payload: requests }));
    const item = (message: string): Buffer => grpcMessage(toBinary(KeepAliveStreamResponseSchema, create(KeepAliveStreamResponseSchema, { keyId: "k", code: 5, message })));
    expect(grpcProblems(stream, ended(0, "", Buffer.concat([item("key not found"), item("key not found")])))).to.deep.equal([]);
    expect(grpcProblems(stream, ended(0, "", item("key not found"))).join("\n")).to.match(/1 KeepAliveStream answers to 2 requests/);
    expect(grpcProblems(stream, ended(0, "", Buffer.concat([item(MARK), item("x")])))).to.have.length(1);
  });
});

describe("fuzz settings and case streams", () => {
  it("default to the fixed seed; FUZZ_SEED, FUZZ_CASES and FUZZ_CASE change it; bad values stop the run", () => {
    expect(fuzzSettings({})).to.deep.equal({ seed: DEFAULT_SEED, cases: DEFAULT_CASES, only: undefined });
    expect(fuzzSettings({ FUZZ_SEED: "7", FUZZ_CASES: "20000", FUZZ_CASE: "12" })).to.deep.equal({ seed: 7, cases: 20_000, only: 12 });
    expect(fuzzSettings({ FUZZ_SEED: "random" }, () => 123).seed).to.equal(123);
    expect(() => fuzzSettings({ FUZZ_SEED: "-1" })).to.throw(/FUZZ_SEED/);
    expect(() => fuzzSettings({ FUZZ_CASES: "0" })).to.throw(/FUZZ_CASES/);
    expect(caseIndexes(fuzzSettings({ FUZZ_CASE: "3" }), 10)).to.deep.equal([3]);
  });

  it("give case i the same draws whatever else runs, and other cases other draws", () => {
    const draws = (seed: number, index: number): number[] => {
      const random = Random.forCase(seed, "rest", index);
      return [random.float(), random.float(), random.float()];
    };
    expect(draws(1, 5)).to.deep.equal(draws(1, 5));
    expect(draws(1, 5)).not.to.deep.equal(draws(1, 6));
    expect(draws(1, 5)).not.to.deep.equal(draws(2, 5));
  });
});
