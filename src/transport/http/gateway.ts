import { randomUUID } from "node:crypto";
import type { JsonValue } from "@bufbuild/protobuf";
import type { BoundMethod } from "../../service/bind";
import type { CallContext } from "../../service/pipeline";
import { CallError, Code, toCallError } from "../../service/status";
import { httpStatusOf } from "./http-status";
import { decodeResponse, encodeRequest } from "./json-codec";
import { type Route, type RouteMatch, RouteMatcher } from "./routes";

/** An HTTP request as the gateway sees it: no framework types. */
export interface GatewayRequest {
  readonly method: string;
  /** The path, without the query string, still percent-encoded. */
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** Raw body bytes; undefined or empty when there was none. */
  readonly body: Buffer | undefined;
}

export interface GatewayResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export interface GatewayOptions {
  /** Success status per gRPC method path; 200 when absent. */
  readonly successStatus?: Readonly<Record<string, number>>;
  /**
   * Methods whose listed error codes answer with the body `{}` instead of the
   * error object (a documented compatibility exception: GET /keys when empty).
   */
  readonly emptyErrorBody?: Readonly<Record<string, readonly number[]>>;
}

/**
 * The framework-neutral grpc-gateway: from method, path, query, headers and body
 * to status, headers and body. Calls run the bound methods in process, through
 * the same pipeline as gRPC calls; no network hop, no second route table.
 */
export class Gateway {
  readonly matcher: RouteMatcher;
  private readonly methods = new Map<string, BoundMethod>();

  constructor(
    routes: readonly Route[],
    methods: readonly BoundMethod[],
    private readonly options: GatewayOptions = {},
  ) {
    for (const method of methods) this.methods.set(method.path, method);
    for (const route of routes) {
      if (!this.methods.has(route.grpcPath)) throw new Error(`route ${route.template.source} names unbound method ${route.grpcPath}`);
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
    const requestId = requestIdOf(request.headers);
    if (match.kind === "none") return errorResponse(requestId, 404, Code.NOT_FOUND, "Not Found");
    if (match.kind === "wrong-method") {
      return errorResponse(requestId, 405, Code.UNIMPLEMENTED, "Method Not Allowed", { allow: match.allow.join(", ") });
    }
    const { route, variables } = match;
    const method = this.methods.get(route.grpcPath) as BoundMethod;
    const context: CallContext = { method: route.grpcPath, transport: "http", requestId };
    try {
      // A route that takes no body ignores one, as grpc-gateway does.
      const body = route.body === "" ? undefined : parseBody(request);
      const message = method.definition.requestDeserialize(Buffer.from(encodeRequest(route, { variables, query: request.query, body })));
      const response = await method.invoke(message, context);
      const json = decodeResponse(route, method.definition.responseSerialize(response));
      return jsonResponse(requestId, this.options.successStatus?.[route.grpcPath] ?? 200, json);
    } catch (error) {
      const failure = toCallError(error);
      const status = httpStatusOf(failure.code);
      if (this.options.emptyErrorBody?.[route.grpcPath]?.includes(failure.code)) return jsonResponse(requestId, status, {});
      return errorResponse(requestId, status, failure.code, failure.message);
    }
  }
}

/** The error body every failure carries: grpc-gateway's Status JSON. */
function errorBody(code: number, message: string): string {
  return JSON.stringify({ code, message, details: [] });
}

export function errorResponse(
  requestId: string,
  status: number,
  code: number,
  message: string,
  extraHeaders: Readonly<Record<string, string>> = {},
): GatewayResponse {
  return { status, headers: { ...JSON_HEADERS, "x-request-id": requestId, ...extraHeaders }, body: errorBody(code, message) };
}

const JSON_HEADERS = { "content-type": "application/json" } as const;

function jsonResponse(requestId: string, status: number, json: JsonValue): GatewayResponse {
  return { status, headers: { ...JSON_HEADERS, "x-request-id": requestId }, body: JSON.stringify(json) };
}

function parseBody(request: GatewayRequest): JsonValue | undefined {
  if (request.body === undefined || request.body.length === 0) return undefined;
  const type = header(request.headers, "content-type");
  if (type !== undefined && !/^application\/(?:[\w.+-]+\+)?json\b/i.test(type)) {
    throw new CallError(Code.INVALID_ARGUMENT, `unsupported content-type "${type}": send application/json`);
  }
  try {
    return JSON.parse(request.body.toString("utf8")) as JsonValue;
  } catch (error) {
    throw new CallError(Code.INVALID_ARGUMENT, `malformed JSON: ${error instanceof Error ? error.message : "parse error"}`);
  }
}

const REQUEST_ID = /^[\w.:@/+=-]{1,128}$/;

/** The caller's X-Request-Id when it is sane, else a new one. */
export function requestIdOf(headers: GatewayRequest["headers"]): string {
  const given = header(headers, "x-request-id");
  return given !== undefined && REQUEST_ID.test(given) ? given : randomUUID();
}

function header(headers: GatewayRequest["headers"], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}
