import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { Code } from "../../service/status";
import { errorBody } from "./gateway";

/** Listens with `listener`; every error Node's HTTP parser raises is answered with the JSON error body too. */
export function listenHttp(listener: (req: IncomingMessage, res: ServerResponse) => void, host: string, port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer(listener);
    server.on("clientError", answerClientError);
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
