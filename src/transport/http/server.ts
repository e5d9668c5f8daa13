import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerOptions, ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo, Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { TlsFiles } from "../../config";
import { Code } from "../../service/status";
import { errorBody } from "./error-body";

/**
 * Slow and idle connections are bounded, so they cannot pile up (slowloris). Measured by
 * `npm run bench:slowloris`: 1,000 connections trickling headers are each answered 408
 * and closed 10–11 s after they opened, and /healthz stays fast meanwhile. There is
 * deliberately no cap on connections (`maxConnections`): an attacker would fill it and
 * lock out health checks and real callers; the process's descriptor limit is the cap.
 */
export const HTTP_LIMITS: ServerOptions = {
  // A request's headers must all arrive within 10 s of its first byte: the slowloris
  // bound (a connection trickling headers is answered 408 and closed).
  headersTimeout: 10_000,
  // The whole request, body included, within 30 s: the same for slow bodies (bodies are
  // at most 64 KiB, so 30 s is generous for any honest caller).
  requestTimeout: 30_000,
  // An idle keep-alive connection closes after 5 s: idle sockets cost a descriptor each.
  keepAliveTimeout: 5_000,
  // How often Node checks the two timeouts above: every second (default 30 s), so a slow
  // connection lives its timeout plus at most a second, not plus thirty.
  connectionsCheckingInterval: 1_000,
  // Headers of at most 16 KiB (431 beyond): bounds what one slow connection can make us buffer.
  maxHeaderSize: 16 * 1024,
  // Node would refuse an HTTP/1.1 request without Host itself, with an empty body: requireHost answers it instead.
  requireHostHeader: false,
};

/**
 * Connections the kernel may hold for us before we accept them (Linux caps it at
 * net.core.somaxconn, 4096 by default since 5.4). Node's default, 511, overflows when a
 * thousand connections arrive at once (a reconnect storm, a slowloris opening): the
 * kernel then drops handshakes, and a health check caught among them waited out a
 * retransmit (720 ms measured by `npm run bench:slowloris`, against 16 ms with this).
 */
export const HTTP_BACKLOG = 4096;

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
    server.listen({ port, host, backlog: HTTP_BACKLOG });
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
