/**
 * The bare baselines the service is measured against, each run as its own
 * process: `baselines.ts grpc` is grpc-js with the generated TokenService
 * definition (same (de)serialisers as the service) answering constants,
 * `baselines.ts node` is bare `node:http` answering the same JSON on the same
 * paths (the REST figure's reference: the service's HTTP server is node:http too),
 * and `baselines.ts express` is an Express 5 app doing the same (the usual way to
 * write such a server, printed beside it). They do no work but the framework's,
 * so service/baseline is the share of the framework's ceiling the service keeps. Every
 * baseline sends the request id header the service sends, so both answer the same bytes.
 * Prints `{"grpc": …}` or `{"http": …}` once listening, like the service's start-up line.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { randomUUID } from "node:crypto";
import { Metadata, type ServerUnaryCall, Server, ServerCredentials } from "@grpc/grpc-js";
import express from "express";
import { type GetResponse, KeyState, type TokenServiceServer, TokenServiceService } from "../../clients/generated/tokens/v1/tokens";

// Answers shaped like the service's: a 22-character id (128 bits, base64url), millisecond timestamps.
const KEY_ID = "AAAAAAAAAAAAAAAAAAAAAA";
const NOW = new Date("2026-01-01T00:00:00.123Z");
const LATER = new Date("2026-01-01T00:05:00.123Z");
const TTL = { seconds: 300, nanos: 0 };
const HOLD_END = new Date("2026-01-01T00:01:00.123Z");
const LEASE = 1_234_567;
const GET: GetResponse = { isBlocked: false, blockedAt: undefined, createdAt: NOW, expiresAt: LATER, releaseAt: undefined, state: KeyState.AVAILABLE, ttl: TTL };
const CREATED_GRPC = { keyId: KEY_ID, expiresAt: LATER, ttl: TTL };
const ACQUIRED_GRPC = { keyId: KEY_ID, releaseAt: HOLD_END, lease: LEASE };
// The REST answers, as the service spells them (proto3 JSON: RFC 3339 timestamps, nulls for unset).
const CREATED = { keyId: KEY_ID, expiresAt: LATER.toISOString(), ttl: "300s" };
const ACQUIRED = { keyId: KEY_ID, releaseAt: HOLD_END.toISOString(), lease: String(LEASE) };
const DESCRIBED = {
  isBlocked: false,
  blockedAt: null,
  createdAt: NOW.toISOString(),
  expiresAt: LATER.toISOString(),
  releaseAt: null,
  state: "AVAILABLE",
  ttl: "300s",
  lease: null,
};
const KEPT_ALIVE = { expiresAt: LATER.toISOString(), releaseAt: null };
const EMPTY = {};

/**
 * The request id every answer carries, as the service sends it (the caller's, else a new
 * UUID): the baselines answer "a constant response of the same size" on the wire, headers
 * included, so the ratio measures the service's work and not a header the bare side lacks.
 */
function requestId(given: unknown): string {
  return typeof given === "string" && given !== "" ? given : randomUUID();
}

function grpcBaseline(): void {
  // Plain callbacks, answered at once: nothing but grpc-js, the message codecs and the request id.
  const echo = (call: ServerUnaryCall<unknown, unknown>): void => {
    const metadata = new Metadata();
    metadata.set("x-request-id", requestId(call.metadata.get("x-request-id")[0]));
    call.sendMetadata(metadata);
  };
  const handlers: TokenServiceServer = {
    create: (call, callback) => (echo(call), callback(null, CREATED_GRPC)),
    acquire: (call, callback) => (echo(call), callback(null, ACQUIRED_GRPC)),
    get: (call, callback) => (echo(call), callback(null, GET)),
    delete: (call, callback) => (echo(call), callback(null, {})),
    release: (call, callback) => (echo(call), callback(null, {})),
    keepAlive: (call, callback) => (echo(call), callback(null, { expiresAt: LATER, releaseAt: undefined })),
    stats: (call, callback) => (echo(call), callback(null, { total: 1, available: 1, leased: 0, cooling: 0 })),
    list: (call, callback) => (echo(call), callback(null, { keys: [], nextPageToken: "" })),
    // The streams are not measured against a baseline: they end at once.
    keepAliveStream: (call) => call.end(),
    watch: (call) => call.end(),
  };
  const server = new Server();
  server.addService(TokenServiceService, handlers);
  server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (error, port) => {
    if (error) throw error;
    console.log(JSON.stringify({ grpc: `127.0.0.1:${port}` }));
  });
  process.once("SIGTERM", () => server.forceShutdown());
}

/** The bare Express 5 app: the same JSON on the same paths, through Express's router. */
function bareExpressApp(): express.Express {
  const app = express();
  // The service's own settings (src/transport/http/server.ts), so neither side pays for ETags.
  app.disable("x-powered-by");
  app.disable("etag");
  app.use((req, res, next) => {
    res.setHeader("x-request-id", requestId(req.headers["x-request-id"]));
    next();
  });
  app.get("/keys", (_req, res) => void res.json(ACQUIRED));
  // A POST must read its body to answer honestly: the least a real Express route would do.
  app.post("/keys", express.json({ limit: 65536 }), (_req, res) => void res.status(201).json(CREATED));
  app.get("/keys/:keyId", (_req, res) => void res.json(DESCRIBED));
  app.put("/keys/:keyId", (_req, res) => void res.json(EMPTY));
  app.delete("/keys/:keyId", (_req, res) => void res.json(EMPTY));
  app.put("/keepalive/:keyId", (_req, res) => void res.json(KEPT_ALIVE));
  return app;
}

/**
 * Bare node:http: routing by a couple of string checks, the answer serialised per request
 * (as the service and Express do), writeHead + end. A POST reads its body before answering.
 */
export function bareNodeHandler(req: IncomingMessage, res: ServerResponse): void {
  const url = req.url ?? "/";
  const json = (status: number, body: unknown): void => {
    const text = JSON.stringify(body);
    res.writeHead(status, { "content-type": "application/json", "x-request-id": requestId(req.headers["x-request-id"]), "content-length": Buffer.byteLength(text) });
    res.end(text);
  };
  if (url === "/keys") {
    if (req.method !== "POST") return json(200, ACQUIRED);
    req.resume();
    req.once("end", () => json(201, CREATED));
    return;
  }
  if (url.startsWith("/keys/")) return json(200, req.method === "GET" ? DESCRIBED : EMPTY);
  if (url.startsWith("/keepalive/")) return json(200, KEPT_ALIVE);
  json(404, { code: 5, message: "not found", details: [] });
}

/** Listens on a free port, prints `{"http": …}` (plus `extra`), closes on SIGTERM. */
export function serveHttp(handler: Parameters<typeof createServer>[1], extra: Record<string, unknown> = {}): void {
  const server = createServer(handler);
  server.listen(0, "127.0.0.1", () => {
    console.log(JSON.stringify({ http: `127.0.0.1:${(server.address() as AddressInfo).port}`, ...extra }));
  });
  process.once("SIGTERM", () => {
    server.closeAllConnections();
    server.close();
  });
}

if (require.main === module) {
  const kind = process.argv[2];
  if (kind === "grpc") grpcBaseline();
  else if (kind === "node") serveHttp(bareNodeHandler);
  else if (kind === "express") serveHttp(bareExpressApp());
  else {
    process.stderr.write("usage: baselines.ts grpc|node|express\n");
    process.exit(2);
  }
}
