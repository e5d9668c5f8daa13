import { Code } from "../../service/status";
import type { GatewayOptions } from "./gateway";

/**
 * The REST contract's per-method departures from grpc-gateway's defaults, in one
 * place (the routes themselves come from the proto's google.api.http options).
 */
export const TOKEN_REST_OPTIONS: GatewayOptions = {
  successStatus: { "/tokens.v1.TokenService/Create": 201 },
  // Kept for existing REST clients: GET /keys with no available key is 404 with body {}.
  emptyErrorBody: { "/tokens.v1.TokenService/Acquire": [Code.NOT_FOUND] },
  // GET /events: each frame's id is the event's revision and its event name the type; Last-Event-ID resumes after it.
  eventStreams: { "/tokens.v1.TokenService/Watch": { id: "revision", event: "type", resumeField: "startRevision" } },
};

/** Largest REST request body accepted (bytes); larger ones get 413. Requests here are tiny. */
export const BODY_LIMIT_BYTES = 64 * 1024;
