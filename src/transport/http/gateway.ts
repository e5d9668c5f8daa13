import type { JsonValue } from "@bufbuild/protobuf";
import type { DescField, Message } from "@bufbuild/protobuf";
import { reflect } from "@bufbuild/protobuf/reflect";
import type { BoundMethod } from "../../service/bind";
import { type CallContext, type CallRemote, remoteOf } from "../../service/pipeline";
import { REQUEST_ID_HEADER, requestIdOf } from "../../service/request-id";
import { CallError, Code, toCallError } from "../../service/status";
import { errorBody } from "./error-body";
import { type EventStream, type EventStreamFields, startEventStream } from "./event-stream";
import { httpStatusOf } from "./http-status";
import { type RequestDecoder, requestDecoder, type ResponseEncoder, responseEncoder } from "./json-codec";
import { type Route, type RouteMatch, RouteMatcher } from "./routes";

type Headers = Readonly<Record<string, string | string[] | undefined>>;

/** An HTTP request as the gateway sees it: no framework types. */
export interface GatewayRequest {
  readonly method: string;
  /** The path, without the query string, still percent-encoded. */
  readonly path: string;
  /** The raw query string without "?", or "". */
  readonly query: string;
  readonly headers: Headers;
  /** Raw body bytes; undefined or empty when there was none. */
  readonly body?: Buffer | undefined;
  /** A body some earlier middleware already parsed (an Express app's express.json()); wins over `body`. */
  readonly parsedBody?: JsonValue | undefined;
  /** The caller's end: its address (the rate limit's key when the service runs open), and whether it left. */
  readonly remote?: CallRemote | undefined;
}

/** The caller's end of a request that names none (Gateway.handle in process): never gone. */
const IN_PROCESS = remoteOf(new AbortController().signal, "unknown");

export interface GatewayResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  /** The whole body; "" for a stream. */
  readonly body: string;
  /** A server stream's events (text/event-stream), written after the headers by `pipe`. */
  readonly events?: EventStream;
}

export interface GatewayOptions {
  /** Success status per gRPC method path; 200 when absent. */
  readonly successStatus?: Readonly<Record<string, number>>;
  /**
   * Methods whose listed error codes answer with the body `{}` instead of the
   * error object (a documented compatibility exception: GET /keys when empty).
   */
  readonly emptyErrorBody?: Readonly<Record<string, readonly number[]>>;
  /** Server-streaming methods served as Server-Sent Events: which fields make each frame's id and event, and which one Last-Event-ID sets. */
  readonly eventStreams?: Readonly<Record<string, EventStreamFields>>;
}

/**
 * The framework-neutral grpc-gateway: from method, path, query, headers and body
 * to status, headers and body. Calls run the bound methods in process, through
 * the same pipeline as gRPC calls; no network hop, no second route table.
 */
export class Gateway {
  readonly matcher: RouteMatcher;
  /** Per route, compiled once: its method, request decoder, response encoder, success status and empty-body codes. */
  private readonly plans = new Map<Route, RoutePlan>();

  constructor(routes: readonly Route[], methods: readonly BoundMethod[], options: GatewayOptions = {}) {
    const byPath = new Map(methods.map((method) => [method.path, method]));
    for (const route of routes) {
      const method = byPath.get(route.grpcPath);
      if (method === undefined) throw new Error(`route ${route.template.source} names unbound method ${route.grpcPath}`);
      this.plans.set(route, {
        method,
        decode: requestDecoder(route, method.input),
        encode: responseEncoder(route, method.output),
        successStatus: options.successStatus?.[route.grpcPath] ?? 200,
        emptyErrorBody: options.emptyErrorBody?.[route.grpcPath] ?? [],
        events: eventStreamPlan(route.grpcPath, method, options.eventStreams?.[route.grpcPath]),
      });
    }
    this.matcher = new RouteMatcher(routes);
  }

  /** Finds the route for a request line: cheap, so adapters call it before reading a body. */
  route(httpMethod: string, path: string): RouteMatch {
    return this.matcher.match(httpMethod, path);
  }

  /** Routes and answers a whole request, unknown paths and wrong methods included. */
  async handle(request: GatewayRequest): Promise<GatewayResponse> {
    return this.answer(this.route(request.method, request.path), request);
  }

  /** Answers a request already routed by `route`. */
  async answer(match: RouteMatch, request: GatewayRequest): Promise<GatewayResponse> {
    const requestId = requestIdOf(header(request.headers, REQUEST_ID_HEADER));
    if (match.kind === "none") return errorResponse(requestId, 404, Code.NOT_FOUND, "Not Found");
    if (match.kind === "wrong-method") {
      return errorResponse(requestId, 405, Code.UNIMPLEMENTED, "Method Not Allowed", { allow: match.allow.join(", ") });
    }
    const { route, variables } = match;
    const plan = this.plans.get(route) as RoutePlan;
    const context: CallContext = {
      remote: request.remote ?? IN_PROCESS,
      method: route.grpcPath,
      kind: plan.method.kind,
      transport: "http",
      requestId,
      authorization: header(request.headers, "authorization"),
      caller: undefined,
    };
    try {
      // A route that takes no body ignores one, as grpc-gateway does.
      const body = route.body === "" ? undefined : (request.parsedBody ?? parseBody(request));
      const message = plan.decode({ variables, query: request.query, body });
      const { method } = plan;
      if (method.kind === "unary") return jsonResponse(requestId, plan.successStatus, plan.encode(await method.invoke(message, context)));
      const events = plan.events as EventsPlan; // a stream method has one (checked when the route was planned)
      resume(message, events.resumeField, header(request.headers, "last-event-id"));
      const stream = await startEventStream((call) => method.invoke(call, context), message, plan.encode, events.fields, toCallError);
      return { status: 200, headers: { ...EVENT_STREAM_HEADERS, "x-request-id": requestId }, body: "", events: stream };
    } catch (error) {
      const failure = toCallError(error);
      const status = httpStatusOf(failure.code);
      if (plan.emptyErrorBody.includes(failure.code)) return jsonResponse(requestId, status, "{}");
      return errorResponse(requestId, status, failure.code, failure.message, failureHeaders(failure));
    }
  }
}

interface RoutePlan {
  readonly method: BoundMethod;
  readonly decode: RequestDecoder;
  readonly encode: ResponseEncoder;
  readonly successStatus: number;
  readonly emptyErrorBody: readonly number[];
  /** Set for a server stream: how it becomes Server-Sent Events. */
  readonly events: EventsPlan | undefined;
}

interface EventsPlan {
  readonly fields: EventStreamFields;
  /** The request's resume field, resolved once (an integer field). */
  readonly resumeField: DescField;
}

const EVENT_STREAM_HEADERS = { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", "x-accel-buffering": "no" };

/** A stream route's SSE plan; a stream method without one cannot be served over REST. */
function eventStreamPlan(path: string, method: BoundMethod, fields: EventStreamFields | undefined): EventsPlan | undefined {
  if (method.kind === "unary") return undefined;
  if (method.kind !== "server_stream") throw new Error(`${path}: only server streams can have an HTTP route`);
  if (fields === undefined) throw new Error(`${path}: a server stream's route needs its eventStreams entry (id, event and resume fields)`);
  const resumeField = method.input.fields.find((field) => field.localName === fields.resumeField);
  if (resumeField?.fieldKind !== "scalar") throw new Error(`${path}: the resume field ${fields.resumeField} is not a scalar field of ${method.input.typeName}`);
  return { fields, resumeField };
}

/**
 * Last-Event-ID: N (the last event the caller saw, sent by EventSource on reconnect)
 * resumes at N + 1, whatever the query said. Anything but a whole number is refused.
 */
function resume(message: Message, field: DescField, lastEventId: string | undefined): void {
  if (lastEventId === undefined || lastEventId === "") return;
  if (!/^\d{1,19}$/.test(lastEventId)) throw new CallError(Code.INVALID_ARGUMENT, "Last-Event-ID must be a revision (a whole number)");
  reflect(field.parent, message).set(field, BigInt(lastEventId) + 1n);
}

/**
 * Headers some failures carry: a bearer challenge on 401 (RFC 6750), the scope one on 403,
 * and Retry-After (seconds) on a rate-limit 429.
 */
function failureHeaders(failure: CallError): Readonly<Record<string, string>> {
  if (failure.code === Code.UNAUTHENTICATED) return { "www-authenticate": 'Bearer realm="token-orchestrator"' };
  if (failure.code === Code.PERMISSION_DENIED) return { "www-authenticate": 'Bearer realm="token-orchestrator", error="insufficient_scope"' };
  if (failure.retryAfterMs !== undefined) return { "retry-after": String(Math.max(1, Math.ceil(failure.retryAfterMs / 1000))) };
  return {};
}

export function errorResponse(
  requestId: string,
  status: number,
  code: number,
  message: string,
  extraHeaders: Readonly<Record<string, string>> = {},
): GatewayResponse {
  return { status, headers: { "content-type": "application/json", "x-request-id": requestId, ...extraHeaders }, body: errorBody(code, message) };
}

function jsonResponse(requestId: string, status: number, text: string): GatewayResponse {
  return { status, headers: { "content-type": "application/json", "x-request-id": requestId }, body: text };
}

const JSON_MEDIA_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

function parseBody(request: GatewayRequest): JsonValue | undefined {
  if (request.body === undefined || request.body.length === 0) return undefined;
  const type = header(request.headers, "content-type");
  // Nothing the caller sent is quoted back: not the content type, not the JSON parser's complaint.
  if (type !== undefined && !JSON_MEDIA_TYPE.test(type)) throw new CallError(Code.INVALID_ARGUMENT, "unsupported content-type: send application/json");
  try {
    return JSON.parse(request.body.toString("utf8")) as JsonValue;
  } catch {
    throw new CallError(Code.INVALID_ARGUMENT, "malformed JSON body");
  }
}

export function header(headers: Headers, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}
