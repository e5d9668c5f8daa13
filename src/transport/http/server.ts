import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerOptions, ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo, Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { TlsFiles } from "../../config";
import { Code } from "../../service/status";
import { errorBody } from "./error-body";

/**
 * Slow and idle connections are bounded: a request's headers must arrive within 10 s
 * and the whole request within 30 s (slowloris), an idle keep-alive connection closes
 * after 5 s, and Node checks every second rather than every 30.
 */
export const HTTP_LIMITS: ServerOptions = {
  headersTimeout: 10_000,
  requestTimeout: 30_000,
  keepAliveTimeout: 5_000,
  connectionsCheckingInterval: 1_000,
  maxHeaderSize: 16 * 1024,
  // Node would refuse an HTTP/1.1 request without Host itself, with an empty body: requireHost answers it instead.
  requireHostHeader: false,
};

/**
 * Listens with `listener`, over HTTPS when TLS files are given (mutual TLS when they
 * name a client CA: a client without a certificate that CA signed fails the handshake).
 * Every error Node's HTTP parser raises is answered with the JSON error body too.
 */
export function listenHttp(
  listener: (req: IncomingMessage, res: ServerResponse) => void,
  host: string,
  port: number,
  tls: TlsFiles | undefined = undefined,
): Promise<Server> {
  return new Promise((resolve, reject) => {
    const guarded = requireHost(listener);
    const server =
      tls === undefined
        ? createHttpServer(HTTP_LIMITS, guarded)
        : createHttpsServer(
            { ...HTTP_LIMITS, cert: tls.cert, key: tls.key, ...(tls.clientCa === undefined ? {} : { ca: tls.clientCa, requestCert: true, rejectUnauthorized: true }) },
            guarded,
          );
    server.on("clientError", answerClientError);
    server.on("connect", (req: IncomingMessage, socket: Duplex) => answerConnect(guarded, req, socket));
    // An Expect other than 100-continue: Node would answer 417 with an empty body.
    server.on("checkExpectation", (_req: IncomingMessage, res: ServerResponse) => answerProtocolError(res, 417, Code.INVALID_ARGUMENT, "expectation failed: only Expect: 100-continue is supported"));
    server.listen(port, host);
    server.once("listening", () => resolve(server));
    server.once("error", reject);
  });
}

/**
 * Node's parser refuses what it cannot parse (a bad method token, headers too large,
 * a malformed chunk, a request that took too long) before any handler runs, and by
 * default answers with an empty body. Here the answer is the same JSON error body as
 * every other failure, and the connection closes.
 */
export function answerClientError(error: Error & { code?: string }, socket: Duplex): void {
  if (error.code === "ECONNRESET" || !socket.writable) {
    socket.destroy();
    return;
  }
  const [status, reason, code] = CLIENT_ERRORS[error.code ?? ""] ?? DEFAULT_CLIENT_ERROR;
  const body = errorBody(code, reason.toLowerCase());
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

/**
 * An HTTP/1.1 request without Host is 400 (RFC 9112 §3.2), answered with the JSON error
 * body and the connection closed, as a parser error is. HTTP/1.0 needs no Host.
 */
function requireHost(listener: (req: IncomingMessage, res: ServerResponse) => void): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    if (req.httpVersionMajor === 1 && req.httpVersionMinor === 1 && req.headers.host === undefined) {
      answerProtocolError(res, 400, Code.INVALID_ARGUMENT, "the Host header is required");
      return;
    }
    listener(req, res);
  };
}

/**
 * CONNECT (a proxy's method) reaches a `connect` listener with the bare socket; without
 * one, Node drops the connection without a word. Here it is answered as any request is
 * (no route takes CONNECT: 405 with Allow on a known path, 404 elsewhere, the JSON
 * error body), then the connection closes: this service tunnels nothing.
 */
function answerConnect(listener: (req: IncomingMessage, res: ServerResponse) => void, req: IncomingMessage, socket: Duplex): void {
  const tcp = socket as Socket; // a net.Socket (a TLSSocket over HTTPS), as Node documents for this event
  tcp.on("error", () => tcp.destroy()); // Node removed its own error listener when it handed the socket over
  const res = new ServerResponse(req);
  res.shouldKeepAlive = false;
  res.assignSocket(tcp);
  res.once("finish", () => {
    res.detachSocket(tcp);
    tcp.end();
  });
  listener(req, res);
}

/** A protocol-level refusal on a parsed request: the JSON error body, then the connection closes (the body, if any, is never read). */
function answerProtocolError(res: ServerResponse, status: number, code: number, message: string): void {
  const body = errorBody(code, message);
  res.shouldKeepAlive = false;
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
  res.end(body);
}

const DEFAULT_CLIENT_ERROR: readonly [number, string, number] = [400, "Bad Request", Code.INVALID_ARGUMENT];

/** Parser error codes → HTTP status, reason and the gRPC code of the JSON body. */
const CLIENT_ERRORS: Readonly<Record<string, readonly [number, string, number]>> = {
  HPE_HEADER_OVERFLOW: [431, "Request Header Fields Too Large", Code.RESOURCE_EXHAUSTED],
  ERR_HTTP_REQUEST_TIMEOUT: [408, "Request Timeout", Code.DEADLINE_EXCEEDED],
  HPE_CHUNK_EXTENSIONS_OVERFLOW: [413, "Payload Too Large", Code.RESOURCE_EXHAUSTED],
};

export function boundPort(server: Server): number {
  return (server.address() as AddressInfo).port;
}

/** Stop accepting, let requests in flight finish, destroy every connection left after `graceMs`. */
export function stopHttp(server: Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const force = setTimeout(() => {
      server.closeAllConnections();
      resolve();
    }, graceMs);
    force.unref();
    server.close(() => {
      clearTimeout(force);
      resolve();
    });
    server.closeIdleConnections();
  });
}
