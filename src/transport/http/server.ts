import type { Server } from "node:http";
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

/** The REST server: /healthz, /openapi.json, the gateway, and JSON for everything else. */
export function createHttpApp(parts: HttpServerParts): express.Express {
  const app = express();
  app.disable("x-powered-by");
  app.disable("etag");
  app.set("query parser", false); // the gateway parses the query string itself
  const openApi = JSON.stringify(parts.openApi);
  // The gateway is the first layer: API calls, the hot path, skip the router's other layers.
  app.use(expressGateway(parts.gateway, { bodyLimitBytes: parts.bodyLimitBytes, fallthrough: true }));
  app.get("/healthz", (_req, res) => {
    const serving = parts.isServing();
    res.status(serving ? 200 : 503).json({ status: serving ? "SERVING" : "NOT_SERVING" });
  });
  app.get("/openapi.json", (_req, res) => {
    res.type("application/json").send(openApi);
  });
  app.use((req: Request, res: Response) => send(res, errorResponse(requestIdOf(req.headers), 404, Code.NOT_FOUND, "Not Found")));
  // Anything thrown past the gateway (it answers its own errors): JSON, never Express's HTML page.
  app.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    parts.onError(error);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    send(res, errorResponse(requestIdOf(req.headers), 500, Code.INTERNAL, "internal error"));
  });
  return app;
}

export function listenHttp(app: express.Express, host: string, port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host);
    server.once("listening", () => resolve(server));
    server.once("error", reject);
  });
}

export function boundPort(server: Server): number {
  return (server.address() as AddressInfo).port;
}

/** Stop accepting, let requests in flight finish, force the rest after `graceMs`. */
export function stopHttp(server: Server, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const force = setTimeout(() => server.closeAllConnections(), graceMs);
    force.unref();
    server.close(() => {
      clearTimeout(force);
      resolve();
    });
    server.closeIdleConnections();
  });
}
