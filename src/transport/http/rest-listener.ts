import type { IncomingMessage, ServerResponse } from "node:http";
import { Code } from "../../service/status";
import { errorResponse, type Gateway } from "./gateway";
import { bodyErrorResponse, requestIdFor, send, serveMatch, type ServeOptions, skipBody, splitTarget } from "./serve";

export interface RestParts extends ServeOptions {
  readonly gateway: Gateway;
  /** The OpenAPI document served at GET /openapi.json. */
  readonly openApi: unknown;
  /** Whether the service is serving (GET /healthz). */
  readonly isServing: () => boolean;
}

/**
 * The service's REST request listener: a plain node:http handler, no framework on
 * the hot path (grpc-gateway's runtime is a plain net/http handler too). The API
 * routes come from the proto; /healthz and /openapi.json are its own; everything
 * else is a JSON 404, a known path with the wrong method a JSON 405.
 */
export function restListener(parts: RestParts): (req: IncomingMessage, res: ServerResponse) => void {
  const openApi = JSON.stringify(parts.openApi);
  const own: Readonly<Record<string, () => { status: number; body: string }>> = {
    "/healthz": () => {
      const serving = parts.isServing();
      return { status: serving ? 200 : 503, body: JSON.stringify({ status: serving ? "SERVING" : "NOT_SERVING" }) };
    },
    "/openapi.json": () => ({ status: 200, body: openApi }),
  };
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
    const { status, body } = page();
    send(res, { status, headers: { "content-type": "application/json", "x-request-id": requestId }, body });
  };
}
