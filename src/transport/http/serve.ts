import type { IncomingMessage, ServerResponse } from "node:http";
import type { JsonValue } from "@bufbuild/protobuf";
import { OnDemandRemote } from "../../service/pipeline";
import { REQUEST_ID_HEADER, requestIdOf } from "../../service/request-id";
import { CallError, Code } from "../../service/status";
import { BodyError, hasBody, readBody } from "./body-reader";
import type { EventOutput } from "./event-stream";
import { errorResponse, type Gateway, type GatewayResponse, header } from "./gateway";
import type { RouteMatch } from "./routes";

export interface ServeOptions {
  /** Largest request body accepted, in bytes; larger ones get 413 without being read. */
  readonly bodyLimitBytes: number;
  /** Told of anything unexpected (a bug): the caller gets a bare 500. */
  readonly onError: (error: unknown) => void;
}

/** A request target split once: path (still percent-encoded) and raw query. */
export interface Target {
  readonly path: string;
  readonly query: string;
}

/** A body an earlier middleware already consumed from the stream (Express): its bytes, or its parsed JSON. */
export type ConsumedBody = { readonly bytes: Buffer } | { readonly json: JsonValue } | { readonly none: true };

export function splitTarget(url: string | undefined): Target {
  const target = url ?? "/";
  const q = target.indexOf("?");
  return q < 0 ? { path: target, query: "" } : { path: target.slice(0, q), query: target.slice(q + 1) };
}

/**
 * Answers one routed request on Node's own request and response objects (the
 * service's node:http server and the Express middleware both end here): the body
 * read within its limit, the gateway's answer written back.
 */
export function serveMatch(
  gateway: Gateway,
  options: ServeOptions,
  match: RouteMatch,
  req: IncomingMessage,
  res: ServerResponse,
  target: Target,
  consumed?: ConsumedBody,
): void {
  const parsedBody = consumed !== undefined && "json" in consumed ? consumed.json : undefined;
  const answer = (bytes: Buffer | undefined): void => {
    const request = {
      method: req.method ?? "GET",
      path: target.path,
      query: target.query,
      headers: req.headers,
      body: bytes,
      parsedBody,
      remote: new HttpRemote(req, res),
    };
    gateway.answer(match, request).then(
      (response) => send(res, response),
      (error: unknown) => failInternal(options, req, res, error),
    );
  };
  const refuse = (error: BodyError): void => {
    res.shouldKeepAlive = false; // the rest of the body stays unread: close after answering
    send(res, bodyErrorResponse(req, error));
  };
  if (consumed !== undefined) {
    answer("bytes" in consumed ? consumed.bytes : undefined);
  } else if (match.kind === "found" && match.route.body !== "" && hasBody(req)) {
    readBody(req, options.bodyLimitBytes).then(answer, (error: unknown) =>
      error instanceof BodyError ? refuse(error) : failInternal(options, req, res, error),
    );
  } else {
    // No body to read (most calls: GET, and PUT or DELETE by path alone): answered in this turn, not after a promise's.
    const refused = skipBody(req, res, options.bodyLimitBytes);
    if (refused === undefined) answer(undefined);
    else refuse(refused);
  }
}

/**
 * The caller's end of an HTTP request: gone once the connection closes before the
 * response is sent. The signal is made for the few calls that ask (a waiting Acquire,
 * an event stream); the rest only read `cancelled`.
 */
class HttpRemote extends OnDemandRemote {
  constructor(
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
  ) {
    super();
  }

  get address(): string {
    return this.req.socket.remoteAddress ?? "unknown";
  }

  get connection(): string | undefined {
    const { remoteAddress, remotePort } = this.req.socket;
    return remoteAddress === undefined || remotePort === undefined ? undefined : `${remoteAddress}:${remotePort}`;
  }

  get cancelled(): boolean {
    return this.res.destroyed && !this.res.writableFinished;
  }

  protected whenGone(gone: () => void): void {
    this.res.once("close", () => this.cancelled && gone());
  }
}

/**
 * For a request whose body will not be used: it is never read, and the connection
 * closes after the answer instead of draining it. A declared size over the limit is
 * still refused (413), as on routes that take a body.
 */
export function skipBody(req: IncomingMessage, res: ServerResponse, limit: number): BodyError | undefined {
  if (hasBody(req) && !req.readableEnded) res.shouldKeepAlive = false;
  return Number(req.headers["content-length"]) > limit ? new BodyError(413, "request body too large") : undefined;
}

/** The error answer for a refused body. */
export function bodyErrorResponse(req: IncomingMessage, error: BodyError): GatewayResponse {
  const code = error.status === 413 ? Code.RESOURCE_EXHAUSTED : Code.INVALID_ARGUMENT; // 415 and 400: the request's fault
  return errorResponse(requestIdFor(req), error.status, code, error.message);
}

/** Writes a gateway answer: a whole body with its Content-Length, or a stream's events as they come. */
export function send(res: ServerResponse, response: GatewayResponse): void {
  const { events } = response;
  if (res.headersSent || res.destroyed) {
    void events?.pipe(GONE); // its handler must learn the caller is gone
    return;
  }
  const headers: string[] = [];
  for (const name in response.headers) headers.push(name, response.headers[name] as string); // no entry arrays: this runs for every answer
  if (events === undefined) {
    headers.push("content-length", String(Buffer.byteLength(response.body)));
    res.writeHead(response.status, headers);
    res.end(response.body);
    return;
  }
  res.writeHead(response.status, headers);
  res.flushHeaders(); // the caller sees the stream open before its first event
  void events.pipe(outputOf(res)).finally(() => {
    // A reader still behind when the stream ends (a dropped watcher) is cut off, not waited for.
    if (res.writableNeedDrain) res.destroy();
    else res.end();
  });
}

/**
 * Why a stream's write fails once its caller has left: CANCELLED, as over gRPC, so the
 * call ends as the caller's doing (never an internal error in the metrics and the log).
 */
function callerGone(): CallError {
  return new CallError(Code.CANCELLED, "the caller cancelled the call");
}

const GONE: EventOutput = { write: () => Promise.reject(callerGone()) };

/** A response as a stream's output: each write waits for the socket to drain, and fails once the caller is gone. */
function outputOf(res: ServerResponse): EventOutput {
  return {
    write: (text) =>
      new Promise<void>((resolve, reject) => {
        if (res.destroyed || res.writableEnded) {
          reject(callerGone());
          return;
        }
        if (res.write(text)) {
          resolve();
          return;
        }
        const drained = (): void => {
          res.off("close", closed);
          resolve();
        };
        const closed = (): void => {
          res.off("drain", drained);
          reject(callerGone());
        };
        res.once("drain", drained);
        res.once("close", closed);
      }),
  };
}

/** Anything unexpected: logged, then a JSON 500 with no detail (never an HTML page or a stack trace). */
export function failInternal(options: ServeOptions, req: IncomingMessage, res: ServerResponse, error: unknown): void {
  options.onError(error);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  send(res, errorResponse(requestIdFor(req), 500, Code.INTERNAL, "internal error"));
}

export function requestIdFor(req: IncomingMessage): string {
  return requestIdOf(header(req.headers, REQUEST_ID_HEADER));
}
