import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import express, { type NextFunction, type Request, type Response } from "express";
import { Code } from "../../service/status";
import { expressGateway, send } from "./express-adapter";
import { errorResponse, type Gateway, requestIdOf } from "./gateway";

export interface HttpServerParts {
  readonly gateway: Gateway;
  /** The OpenAPI document served at GET /openapi.json. */
  readonly openApi: unknown;
  /** Whether the service is serving (GET /healthz). */
  readonly isServing: () => boolean;
  readonly bodyLimitBytes: number;
  /** Told of anything unexpected that reached the last error handler. */
  readonly onError: (error: unknown) => void;
}

/**
 * The REST request listener. The gateway answers API routes straight from Node's
 * request and response, in front of Express: measured here (bench/load), Express 5's
 * own routing costs 4-7x a bare node:http handler, and this front keeps API calls
 * at 1.5-2.5x a bare Express route. Everything else (/healthz, /openapi.json,
 * unknown paths) goes on to the Express app. `expressGateway` is an ordinary Express
 * middleware either way: another app can `app.use()` it.
 */
export function restRequestListener(parts: HttpServerParts): (req: IncomingMessage, res: ServerResponse) => void {
  const app = createHttpApp(parts);
  const gateway = expressGateway(parts.gateway, { bodyLimitBytes: parts.bodyLimitBytes, fallthrough: true }) as unknown as (
    req: IncomingMessage,
    res: ServerResponse,
    next: (error?: unknown) => void,
  ) => void;
  return (req, res) =>
    gateway(req, res, (error?: unknown) => (error === undefined ? void app(req, res) : failInternal(parts, req, res, error)));
}

/** An unexpected error: logged, then JSON 500 with no detail (never Express's HTML page or a stack trace). */
function failInternal(parts: HttpServerParts, req: IncomingMessage, res: ServerResponse, error: unknown): void {
  parts.onError(error);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  send(res as Response, errorResponse(requestIdOf(req.headers), 500, Code.INTERNAL, "internal error"));
}

/** The Express app behind the gateway: /healthz, /openapi.json, and JSON for everything else. */
export function createHttpApp(parts: HttpServerParts): express.Express {
  const app = express();
  app.disable("x-powered-by");
  app.disable("etag");
  const openApi = JSON.stringify(parts.openApi);
  app.get("/healthz", (_req, res) => {
    const serving = parts.isServing();
    res.status(serving ? 200 : 503).json({ status: serving ? "SERVING" : "NOT_SERVING" });
  });
  app.get("/openapi.json", (_req, res) => {
    res.type("application/json").send(openApi);
  });
  app.use((req: Request, res: Response) => send(res, errorResponse(requestIdOf(req.headers), 404, Code.NOT_FOUND, "Not Found")));
  app.use((error: unknown, req: Request, res: Response, _next: NextFunction) => failInternal(parts, req, res, error));
  return app;
}

export function listenHttp(listener: (req: IncomingMessage, res: ServerResponse) => void, host: string, port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer(listener);
    server.listen(port, host);
    server.once("listening", () => resolve(server));
    server.once("error", reject);
  });
}

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
