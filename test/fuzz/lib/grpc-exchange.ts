import { type ClientHttp2Session, type ClientHttp2Stream, connect, constants } from "node:http2";
import type { GrpcCase } from "./grpc-cases";

/** Response headers or trailers as node:http2 gives them (":status" is a number). */
export type Fields = Readonly<Record<string, string | string[] | number | undefined>>;

/** What came back on one HTTP/2 stream. */
export interface GrpcOutcome {
  /** The response headers (with grpc-status when the answer is trailers-only). */
  readonly headers: Fields | undefined;
  readonly trailers: Fields | undefined;
  /** Every DATA byte of the response. */
  readonly data: Buffer;
  /** The client reset the stream (the case's ending, or a stream left open on purpose). */
  readonly resetByClient: boolean;
  /** The stream's RST_STREAM code, when it was reset (by either side). */
  readonly rstCode: number | undefined;
  /** The stream did not close in time. */
  readonly timedOut: boolean;
  /** An error the stream or the session reported. */
  readonly error: string | undefined;
}

export interface GrpcExchangeOptions {
  readonly timeoutMs: number;
  /** A server stream that opened is reset after this long: Watch never ends by itself. */
  readonly resetOpenStreamAfterMs: number;
}

/**
 * Calls on one connection before the next one opens. The server's HTTP/2 stack (nghttp2's
 * rapid-reset protection, CVE-2023-44487) ends a connection with GOAWAY INTERNAL_ERROR after
 * about 1,000 streams reset in a burst; the fuzz resets many on purpose, so it spreads them out.
 */
const CALLS_PER_CONNECTION = 200;

interface Connection {
  readonly session: ClientHttp2Session;
  calls: number;
  running: number;
  retired: boolean;
}

/** HTTP/2 connections to the gRPC port: a fresh one every CALLS_PER_CONNECTION calls, or when the server closed one. */
export class Http2Sessions {
  private readonly slots: (Connection | undefined)[];
  private readonly all = new Set<Connection>();

  constructor(
    private readonly address: string,
    count: number,
  ) {
    this.slots = new Array<Connection | undefined>(count);
  }

  /** Runs `call` on the session whose turn it is; a retired session closes once its last call is done. */
  async use<T>(turn: number, call: (session: ClientHttp2Session) => Promise<T>): Promise<T> {
    const connection = this.connectionFor(turn % this.slots.length);
    connection.calls += 1;
    connection.running += 1;
    try {
      return await call(connection.session);
    } finally {
      connection.running -= 1;
      if (connection.retired && connection.running === 0) this.drop(connection);
    }
  }

  close(): void {
    for (const connection of this.all) connection.session.destroy();
    this.all.clear();
  }

  private connectionFor(slot: number): Connection {
    const current = this.slots[slot];
    const usable = current !== undefined && !current.session.closed && !current.session.destroyed;
    if (usable && current.calls < CALLS_PER_CONNECTION) return current;
    if (current !== undefined) {
      current.retired = true;
      if (current.running === 0) this.drop(current);
    }
    const session = connect(`http://${this.address}`);
    session.on("error", () => undefined); // its streams report what matters
    const fresh: Connection = { session, calls: 0, running: 0, retired: false };
    this.slots[slot] = fresh;
    this.all.add(fresh);
    return fresh;
  }

  private drop(connection: Connection): void {
    connection.session.close();
    this.all.delete(connection);
  }
}

/** Sends one case on `session` and collects the answer until the stream closes. */
export function grpcExchange(session: ClientHttp2Session, c: GrpcCase, options: GrpcExchangeOptions): Promise<GrpcOutcome> {
  return new Promise((resolve) => {
    const request: Record<string, string | string[]> = { [constants.HTTP2_HEADER_METHOD]: c.httpMethod, [constants.HTTP2_HEADER_PATH]: c.path };
    for (const [name, value] of c.headers) {
      const previous = request[name];
      request[name] = previous === undefined ? value : [...(Array.isArray(previous) ? previous : [previous]), value];
    }
    let stream: ClientHttp2Stream;
    try {
      stream = session.request(request, { endStream: false });
    } catch (error) {
      resolve({ headers: undefined, trailers: undefined, data: Buffer.alloc(0), resetByClient: false, rstCode: undefined, timedOut: false, error: `the client refused to send it: ${String(error)}` });
      return;
    }
    let headers: Fields | undefined;
    let trailers: Fields | undefined;
    let resetByClient = false;
    let error: string | undefined;
    let timedOut = false;
    const chunks: Buffer[] = [];
    const reset = (): void => {
      if (stream.closed || stream.destroyed) return;
      resetByClient = true;
      stream.close(c.resetCode);
    };
    let settled = false;
    const finish = (): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ headers, trailers, data: Buffer.concat(chunks), resetByClient, rstCode: stream.rstCode, timedOut, error });
    };
    // Past the time allowed the stream is destroyed, not closed: a close waits for writes the peer may never take.
    const timer = setTimeout(() => {
      timedOut = true;
      stream.destroy();
      finish();
    }, options.timeoutMs);
    stream.on("response", (received) => {
      headers = received;
      // A server stream that opened stays open until its caller leaves: leave after a moment.
      if (received["grpc-status"] === undefined && c.method?.methodKind === "server_streaming") setTimeout(reset, options.resetOpenStreamAfterMs);
    });
    stream.on("trailers", (received) => (trailers = received));
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("error", (failure: Error & { code?: string }) => (error = failure.code ?? failure.message));
    stream.on("close", finish);
    const half = Math.floor(c.payload.length / 2);
    switch (c.ending) {
      case "reset-before-body":
        reset();
        break;
      case "reset-mid-body":
        stream.write(c.payload.subarray(0, half));
        reset();
        break;
      case "reset-after-body":
        stream.write(c.payload);
        reset();
        break;
      case "end":
        stream.end(c.payload);
        break;
      case "end-then-reset":
        stream.end(c.payload);
        setImmediate(reset);
        break;
    }
  });
}
