import type { IncomingMessage, ServerResponse } from "node:http";
import { Code } from "../../service/status";
import { errorResponse, type Gateway } from "./gateway";
import { bodyErrorResponse, failInternal, requestIdFor, send, serveMatch, type ServeOptions, skipBody, splitTarget } from "./serve";

export interface RestParts extends ServeOptions {
  readonly gateway: Gateway;
  /** The OpenAPI document served at GET /openapi.json. */
  readonly openApi: unknown;
  /** Whether the service is serving (GET /healthz). */
  readonly isServing: () => boolean;
  /** GET /metrics: the Prometheus text and its content type; absent: no such page. */
  readonly metrics?: { readonly contentType: string; readonly text: () => Promise<string> };
}

/** A page of the service's own (not a proto route): open to everyone, no body taken. */
type Page = () => Promise<{ readonly status: number; readonly contentType: string; readonly body: string }>;

/**
 * The service's REST request listener: a plain node:http handler, no framework on
 * the hot path (grpc-gateway's runtime is a plain net/http handler too). The API
 * routes come from the proto; /healthz, /openapi.json and /metrics are its own (open:
 * no token needed); everything else is a JSON 404, a known path with the wrong method a JSON 405.
 */
export function restListener(parts: RestParts): (req: IncomingMessage, res: ServerResponse) => void {
  const json = "application/json";
  const openApi = JSON.stringify(parts.openApi);
  const own: Partial<Record<string, Page>> = {
    "/healthz": async () => {
      const serving = parts.isServing();
      return { status: serving ? 200 : 503, contentType: json, body: JSON.stringify({ status: serving ? "SERVING" : "NOT_SERVING" }) };
    },
    "/openapi.json": async () => ({ status: 200, contentType: json, body: openApi }),
  };
  const { metrics } = parts;
  if (metrics !== undefined) own["/metrics"] = async () => ({ status: 200, contentType: metrics.contentType, body: await metrics.text() });
  return (req, res) => {
    const target = splitTarget(req.url);
    const page = own[target.path];
    if (page === undefined) {
      serveMatch(parts.gateway, parts, parts.gateway.route(req.method ?? "GET", target.path), req, res, target);
      return;
    }
    const refused = skipBody(req, res, parts.bodyLimitBytes); // these pages take no body
    if (refused !== undefined) {
      send(res, bodyErrorResponse(req, refused));
      return;
    }
    const requestId = requestIdFor(req);
    if (req.method !== "GET" && req.method !== "HEAD") {
      send(res, errorResponse(requestId, 405, Code.UNIMPLEMENTED, "Method Not Allowed", { allow: "GET, HEAD" }));
      return;
    }
    page().then(
      ({ status, contentType, body }) => send(res, { status, headers: { "content-type": contentType, "x-request-id": requestId }, body }),
      (error: unknown) => failInternal(parts, req, res, error),
    );
  };
}
