import type { GatewayOptions } from "./gateway";
import type { Route } from "./routes";

/** Placeholder: replaced by the full generator. */
export function openApiDocument(routes: readonly Route[], _options: GatewayOptions = {}): Record<string, unknown> {
  return { openapi: "3.0.3", info: { title: "Token Orchestrator", version: "1" }, paths: Object.fromEntries(routes.map((r) => [r.template.source, {}])) };
}
