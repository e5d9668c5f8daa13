import express, { type NextFunction, type Request, type RequestHandler, type Response } from "express";
import { Code } from "../../service/status";
import { errorResponse, type Gateway, type GatewayResponse, requestIdOf } from "./gateway";

export interface ExpressGatewayOptions {
  /** Largest request body accepted, in bytes; larger ones get 413. */
  readonly bodyLimitBytes: number;
  /** Unknown paths go to the next middleware (true) or get a JSON 404 (false). */
  readonly fallthrough?: boolean;
}

/**
 * The gateway as one Express middleware with its own precompiled matcher (no
 * Express route per binding). Mount it in any app: `app.use(expressGateway(gw, …))`.
 */
export function expressGateway(gateway: Gateway, options: ExpressGatewayOptions): RequestHandler {
  // body-parser's raw reader: limit, Content-Length checks and decoding done well already.
  const readBody = express.raw({ type: () => true, limit: options.bodyLimitBytes });
  return (req: Request, res: Response, next: NextFunction) => {
    const url = req.url;
    const q = url.indexOf("?");
    const path = q < 0 ? url : url.slice(0, q);
    const match = gateway.route(req.method, path);
    if (match.kind === "none" && options.fallthrough === true) return next();
    readBody(req, res, (error?: unknown) => {
      if (error !== undefined && error !== null) return send(res, bodyError(req, error));
      const body = Buffer.isBuffer(req.body) ? req.body : undefined;
      const query = new URLSearchParams(q < 0 ? "" : url.slice(q + 1));
      gateway.answer(match, { method: req.method, path, query, headers: req.headers, body }).then(
        (response) => send(res, response),
        next,
      );
    });
  };
}

export function send(res: Response, response: GatewayResponse): void {
  res.writeHead(response.status, { ...response.headers, "content-length": Buffer.byteLength(response.body) });
  res.end(response.body);
}

/** body-parser failures (413 too large, 400 bad encoding, …) as the JSON error body. */
function bodyError(req: Request, error: unknown): GatewayResponse {
  const status = typeof (error as { status?: unknown }).status === "number" ? (error as { status: number }).status : 400;
  const requestId = requestIdOf(req.headers);
  if (status === 413) return errorResponse(requestId, 413, Code.RESOURCE_EXHAUSTED, "request body too large");
  return errorResponse(requestId, status >= 400 && status < 500 ? status : 400, Code.INVALID_ARGUMENT, "unreadable request body");
}
