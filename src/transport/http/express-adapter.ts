import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import type { NextFunction, Request, RequestHandler, Response } from "express";
import type { Gateway } from "./gateway";
import { type ConsumedBody, serveMatch, type ServeOptions, splitTarget } from "./serve";

export interface ExpressGatewayOptions {
  /** Largest request body accepted, in bytes; larger ones get 413 without being read. */
  readonly bodyLimitBytes: number;
  /** Unknown paths go to the next middleware (true) or get a JSON 404 (false). */
  readonly fallthrough?: boolean;
  /** Told of anything unexpected (default: nothing); the caller gets a JSON 500 either way. */
  readonly onError?: (error: unknown) => void;
}

/**
 * The gateway as one Express middleware, the same code the service's own node:http
 * server runs: mount it in any app with `app.use(expressGateway(gateway, …))`, under
 * a prefix or not, before or after the app's own middleware. A body an earlier
 * middleware already parsed (express.json(), express.raw()) is used as it is.
 */
export function expressGateway(gateway: Gateway, options: ExpressGatewayOptions): RequestHandler {
  const serve: ServeOptions = { bodyLimitBytes: options.bodyLimitBytes, onError: options.onError ?? (() => undefined) };
  return (req: Request, res: Response, next: NextFunction) => {
    const target = splitTarget(req.url);
    const match = gateway.route(req.method, target.path);
    if (match.kind === "none" && options.fallthrough === true) {
      next();
      return;
    }
    serveMatch(gateway, serve, match, req, res, target, consumed(req));
  };
}

/**
 * What an earlier middleware left of a body it consumed: undefined while the stream
 * is unread (the gateway reads it itself, within its limit).
 */
function consumed(req: Request): ConsumedBody | undefined {
  if (!req.readableEnded) return undefined;
  const body: unknown = req.body;
  if (Buffer.isBuffer(body)) return { bytes: body };
  if (typeof body === "string") return { bytes: Buffer.from(body) };
  // express.json() leaves plain objects and arrays; anything else is treated as no body.
  return isJsonContainer(body) ? { json: body } : { none: true };
}

/** A plain object or array, as JSON.parse makes them (what is inside is checked against the schema later). */
function isJsonContainer(value: unknown): value is JsonObject | JsonValue[] {
  return typeof value === "object" && value !== null && (Array.isArray(value) || Object.getPrototypeOf(value) === Object.prototype);
}
