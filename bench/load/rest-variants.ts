/**
 * One REST server per process for the Express study (express-study.ts): the
 * bare floors and the service's REST shim mounted in different ways, all built
 * from the compiled code (dist/) with an in-memory pool filled in-process.
 *
 *   rest-variants.ts VARIANT [EXPRESS4_DIR]
 *
 *   bare-node       the bench's bare node:http baseline (no framework at all)
 *   bare-express5   the bench's bare Express baseline
 *   bare-express4   the same app on Express 4 (from EXPRESS4_DIR/node_modules/express)
 *   shim-express5   the service's REST server as shipped (restRequestListener: the gateway in front, Express 5 behind it)
 *   shim-express4   the same mounting on an Express 4 app
 *   shim-first      Express 5, the gateway mounted before /healthz and /openapi.json (fallthrough for the rest)
 *   shim-node       the gateway middleware straight on node:http (no Express on any request)
 *
 * Prints `{"http": "host:port", "keyId": "…"}` (a live key of its pool) once listening.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { join } from "node:path";
import express from "express";
import { bareExpressApp, bareNodeHandler, serveHttp } from "./baselines";
import { ROOT } from "./procs";

type Dist = {
  config: typeof import("../../src/config");
  clock: typeof import("../../src/platform/system-clock");
  logger: typeof import("../../src/platform/logger");
  store: typeof import("../../src/store/create-store");
  bind: typeof import("../../src/service/bind");
  pipeline: typeof import("../../src/service/pipeline");
  service: typeof import("../../src/service/token-service");
  descriptors: typeof import("../../src/transport/descriptors");
  gateway: typeof import("../../src/transport/http/gateway");
  routes: typeof import("../../src/transport/http/routes");
  rest: typeof import("../../src/transport/http/token-rest");
  server: typeof import("../../src/transport/http/server");
  adapter: typeof import("../../src/transport/http/express-adapter");
  openapi: typeof import("../../src/transport/http/openapi");
};

const FILES: Record<keyof Dist, string> = {
  config: "config",
  clock: "platform/system-clock",
  logger: "platform/logger",
  store: "store/create-store",
  bind: "service/bind",
  pipeline: "service/pipeline",
  service: "service/token-service",
  descriptors: "transport/descriptors",
  gateway: "transport/http/gateway",
  routes: "transport/http/routes",
  rest: "transport/http/token-rest",
  server: "transport/http/server",
  adapter: "transport/http/express-adapter",
  openapi: "transport/http/openapi",
};

function loadDist(): Dist {
  const entries = Object.entries(FILES).map(([name, file]) => [name, require(join(ROOT, "dist", "src", `${file}.js`)) as unknown]);
  return Object.fromEntries(entries) as Dist;
}

const SERVICE = "tokens.v1.TokenService";
type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** The service's REST pieces as app.ts wires them, over a filled in-memory pool. */
async function shim(d: Dist, poolSize: number) {
  const config = d.config.loadConfig({ ...process.env, STORE: "memory", KEY_TTL: "1h", BLOCK_TTL: "2s", LOG_LEVEL: "warn" });
  const store = await d.store.createStore(config, d.clock.systemClock);
  for (let i = 0; i < poolSize; i += 1) await store.create();
  const keyId = (await store.create()).keyId;
  const tokens = d.bind.bindService(d.service.TokenServiceService, d.service.tokenServiceHandlers(store), d.pipeline.standardSteps(d.logger.createLogger("warn")));
  const routes = d.routes.routesFromDescriptors(d.descriptors.descriptorRegistry(), [SERVICE]);
  const gateway = new d.gateway.Gateway(routes, tokens.methods, d.rest.TOKEN_REST_OPTIONS);
  const parts = {
    gateway,
    openApi: d.openapi.openApiDocument(routes, d.rest.TOKEN_REST_OPTIONS),
    isServing: () => true,
    bodyLimitBytes: d.rest.BODY_LIMIT_BYTES,
    onError: (error: unknown) => process.stderr.write(`${String(error)}\n`),
  };
  return { keyId, parts, d };
}

type Shim = Awaited<ReturnType<typeof shim>>;

/** createHttpApp's mounting, on whichever Express: two plain routes, then the gateway middleware. */
function mountedLast(expressModule: typeof express, { parts, d }: Shim): Handler {
  const app = expressModule();
  app.disable("x-powered-by");
  app.disable("etag");
  app.get("/healthz", (_req, res) => void res.json({ status: "SERVING" }));
  app.get("/openapi.json", (_req, res) => void res.type("application/json").send(JSON.stringify(parts.openApi)));
  app.use(d.adapter.expressGateway(parts.gateway, { bodyLimitBytes: parts.bodyLimitBytes }));
  return app as unknown as Handler;
}

function mountedFirst({ parts, d }: Shim): Handler {
  const app = express();
  app.disable("x-powered-by");
  app.disable("etag");
  app.use(d.adapter.expressGateway(parts.gateway, { bodyLimitBytes: parts.bodyLimitBytes, fallthrough: true }));
  app.get("/healthz", (_req, res) => void res.json({ status: "SERVING" }));
  app.get("/openapi.json", (_req, res) => void res.type("application/json").send(JSON.stringify(parts.openApi)));
  return app;
}

/** The gateway middleware needs only Node's request and response (it reads req.url/method/headers and writes with writeHead/end). */
function onNode({ parts, d }: Shim): Handler {
  const middleware = d.adapter.expressGateway(parts.gateway, { bodyLimitBytes: parts.bodyLimitBytes }) as unknown as (
    req: IncomingMessage,
    res: ServerResponse,
    next: (error?: unknown) => void,
  ) => void;
  return (req, res) =>
    middleware(req, res, () => {
      res.writeHead(500, { "content-type": "application/json" });
      res.end('{"code":13,"message":"internal error","details":[]}');
    });
}

async function main(): Promise<void> {
  const [variant, express4Dir] = process.argv.slice(2);
  const express4 = (): typeof express => {
    if (express4Dir === undefined) throw new Error(`${variant} needs EXPRESS4_DIR (a folder where express@4 is installed)`);
    return require(join(express4Dir, "node_modules", "express")) as typeof express;
  };
  const pool = Number(process.env["POOL"] ?? 100_000);
  const bareKey = { keyId: "AAAAAAAAAAAAAAAAAAAAAA" };
  switch (variant) {
    case "bare-node":
      return serveHttp(bareNodeHandler, bareKey);
    case "bare-express5":
      return serveHttp(bareExpressApp(express), bareKey);
    case "bare-express4":
      return serveHttp(bareExpressApp(express4()), bareKey);
    case "shim-express5": {
      const s = await shim(loadDist(), pool);
      return serveHttp(s.d.server.restRequestListener(s.parts), { keyId: s.keyId });
    }
    case "shim-express4": {
      const s = await shim(loadDist(), pool);
      return serveHttp(mountedLast(express4(), s), { keyId: s.keyId });
    }
    case "shim-first": {
      const s = await shim(loadDist(), pool);
      return serveHttp(mountedFirst(s), { keyId: s.keyId });
    }
    case "shim-node": {
      const s = await shim(loadDist(), pool);
      return serveHttp(onNode(s), { keyId: s.keyId });
    }
    default:
      throw new Error(`unknown variant ${variant}`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`rest-variants: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
