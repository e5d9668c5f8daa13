/**
 * What each row of the load table sends, and the one-call probes that prove a
 * target answers it correctly before it is loaded. The tools have limits that
 * shape the gRPC rows: h2load sends one fixed body and cannot feed a response
 * into the next request, so a gRPC row cannot chain Acquire→Release or
 * Create→Delete. wrk's Lua can, so the REST rows are true pairs.
 */
import { connect } from "node:http2";
import { fromBinary } from "@bufbuild/protobuf";
import { AcquireRequest, GetRequest, ReleaseRequest } from "../../clients/generated/tokens/v1/tokens";
import { AcquireRequestSchema } from "../../src/generated/tokens/v1/tokens_pb";
import { authHeaders } from "./auth";

const SERVICE = "/tokens.v1.TokenService";

export interface GrpcWorkload {
  readonly name: string;
  /** Printed under the table: what the row really measures. */
  readonly measures: string;
  /** gRPC method paths, sent in turn by each h2load client (h2load -i). */
  readonly methods: readonly string[];
  /** The one request message every method gets (h2load -d takes one body). */
  readonly message: Uint8Array;
  /** Counts Acquire calls: the pool must not run dry during the run. */
  readonly acquireShare: number;
}

/** `keyId`: a live key of the pool, used wherever a request names one. */
export function grpcWorkloads(keyId: string): GrpcWorkload[] {
  const named = GetRequest.encode({ keyId }).finish();
  return [
    {
      name: "Acquire+Release",
      measures:
        "gRPC Acquire+Release: Acquire and Release alternate on each connection, all carrying {key_id: K} " +
        "(K is chosen so that Acquire reads those bytes as block_ttl 0s, granted as 1 s: see fitsEveryBody); " +
        "Acquire draws a random key and leases it for 1 s, " +
        "Release frees the fixed key K (a no-op unless an Acquire drew it). h2load cannot chain the acquired id into the Release.",
      methods: [`${SERVICE}/Acquire`, `${SERVICE}/Release`],
      // Same bytes as a ReleaseRequest; to AcquireRequest they are a block_ttl of 0s (fitsEveryBody).
      message: ReleaseRequest.encode({ keyId }).finish(),
      acquireShare: 0.5,
    },
    { name: "Get", measures: "gRPC Get: Get of one live key K.", methods: [`${SERVICE}/Get`], message: named, acquireShare: 0 },
    {
      name: "KeepAlive",
      measures: "gRPC KeepAlive: KeepAlive of one live key K.",
      methods: [`${SERVICE}/KeepAlive`],
      message: named,
      acquireShare: 0,
    },
    {
      name: "Create",
      measures:
        "gRPC Create: Create alone (the pool grows). No gRPC Delete row: h2load sends one body, so every Delete would name the same, " +
        "already deleted id; REST Create+Delete measures the pair.",
      methods: [`${SERVICE}/Create`],
      message: AcquireRequest.encode({}).finish(),
      acquireShare: 0,
    },
  ];
}

/**
 * h2load sends one body to every method of a row, so a row that mixes Acquire with calls
 * naming a key sends `{key_id: K}` to Acquire too. Field 1 of AcquireRequest is block_ttl
 * (v2), a Duration: most ids' bytes are not a valid Duration message and Acquire would fail
 * to parse them. About 1 id in 370 is (each byte pair an unknown field of Duration): Acquire
 * then reads block_ttl 0s, which the service grants as its 1 s minimum. The bench picks
 * such a K for every live key it names (the Redis storm ids are its own; elsewhere it
 * creates keys until one fits, and deletes the others).
 */
export function fitsEveryBody(keyId: string): boolean {
  try {
    const read = fromBinary(AcquireRequestSchema, ReleaseRequest.encode({ keyId }).finish());
    return read.wait === undefined && read.blockTtl?.seconds === 0n && read.blockTtl.nanos === 0;
  } catch {
    return false;
  }
}

/** The hold a row's Acquire gets (block_ttl 0s from K's bytes, granted as the 1 s minimum), in seconds. */
export const BENCH_HOLD_SECONDS = 1;

/** A gRPC message as it travels in an HTTP/2 DATA frame: flag 0 (uncompressed), uint32 BE length, message. */
export function grpcFrame(message: Uint8Array): Buffer {
  const frame = Buffer.alloc(5 + message.length);
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, 5);
  return frame;
}

export interface GrpcProbe {
  readonly grpcStatus: number;
  /** DATA bytes of the answer: what h2load will count per request when the call succeeds. */
  readonly dataBytes: number;
}

/** One call with exactly the bytes h2load will send, reading grpc-status from the trailers (or a trailers-only answer). */
export function probeGrpc(address: string, path: string, frame: Buffer): Promise<GrpcProbe> {
  return new Promise((resolve, reject) => {
    const session = connect(`http://${address}`);
    session.once("error", reject);
    const stream = session.request({ ":method": "POST", ":path": path, "content-type": "application/grpc", te: "trailers", ...authHeaders() });
    let status: unknown;
    let dataBytes = 0;
    stream.on("response", (headers) => (status = headers["grpc-status"] ?? status));
    stream.on("trailers", (trailers) => (status = trailers["grpc-status"]));
    stream.on("data", (chunk: Buffer) => (dataBytes += chunk.length));
    stream.once("error", reject);
    stream.once("close", () => {
      session.close();
      resolve({ grpcStatus: typeof status === "string" ? Number(status) : -1, dataBytes });
    });
    stream.end(frame);
  });
}

/** Probes every method of a workload; throws unless each answers OK. Resolves to the mean answer size. */
export async function checkGrpc(address: string, workload: GrpcWorkload, frame: Buffer): Promise<number> {
  let bytes = 0;
  for (const method of workload.methods) {
    const probe = await probeGrpc(address, method, frame);
    if (probe.grpcStatus !== 0) throw new Error(`${address}${method} answered grpc-status ${probe.grpcStatus} to the bench's body`);
    bytes += probe.dataBytes;
  }
  return bytes / workload.methods.length;
}

export interface RestWorkload {
  readonly name: string;
  readonly measures: string;
  /** wrk Lua: sets wrk.method/path for a fixed request, or defines request()/response() to chain. */
  readonly lua: string;
  /** One round of the workload with fetch; throws when an answer is not the contract's. */
  probe(baseUrl: string): Promise<void>;
}

// Ids answered by the target are queued and used by the next request wrk asks for (one Lua state: wrk -t 1).
// The first request is formatted on first use: before wrk's init it would lack the Host header (Node answers 400).
const chained = (first: string, then: string): string => `
local ids = {}
local firstRequest = nil
request = function()
  local n = #ids
  if n > 0 then
    local id = ids[n]
    ids[n] = nil
    return wrk.format(${then})
  end
  firstRequest = firstRequest or ${first}
  return firstRequest
end
response = function(status, headers, body)
  local id = string.match(body, '"keyId"%s*:%s*"([^"]+)"')
  if id then ids[#ids + 1] = id end
end
`;

export function restWorkloads(keyId: string): RestWorkload[] {
  const path = encodeURIComponent(keyId);
  return [
    {
      name: "Acquire+Release",
      measures: "REST Acquire+Release: true pairs, GET /keys then PUT /keys/{the id it answered} (wrk Lua chains them).",
      lua: chained(`wrk.format("GET", "/keys")`, `"PUT", "/keys/" .. id`),
      probe: async (base) => {
        const id = await expectJson(base, "GET", "/keys", 200, "keyId");
        await expectJson(base, "PUT", `/keys/${encodeURIComponent(id)}`, 200);
      },
    },
    {
      name: "Get",
      measures: "REST Get: GET /keys/K of one live key K.",
      lua: `wrk.method = "GET"\nwrk.path = "/keys/${path}"\n`,
      probe: async (base) => void (await expectJson(base, "GET", `/keys/${path}`, 200, "createdAt")),
    },
    {
      name: "KeepAlive",
      measures: "REST KeepAlive: PUT /keepalive/K of one live key K.",
      lua: `wrk.method = "PUT"\nwrk.path = "/keepalive/${path}"\n`,
      probe: async (base) => void (await expectJson(base, "PUT", `/keepalive/${path}`, 200)),
    },
    {
      name: "Create+Delete",
      measures: "REST Create+Delete: true pairs, POST /keys {} then DELETE /keys/{the id it answered}; the pool keeps its size.",
      lua: chained(`wrk.format("POST", "/keys", {["Content-Type"] = "application/json", ["authorization"] = wrk.headers["authorization"]}, "{}")`, `"DELETE", "/keys/" .. id`),
      probe: async (base) => {
        const id = await expectJson(base, "POST", "/keys", 201, "keyId", "{}");
        await expectJson(base, "DELETE", `/keys/${encodeURIComponent(id)}`, 200);
      },
    },
  ];
}

/** One REST call; checks the status and, when named, that the JSON answer has that field (returned as a string). */
async function expectJson(base: string, method: string, path: string, status: number, field?: string, body?: string): Promise<string> {
  const init: RequestInit = body === undefined ? { method, headers: authHeaders() } : { method, body, headers: { "content-type": "application/json", ...authHeaders() } };
  const response = await fetch(`${base}${path}`, init);
  const text = await response.text();
  if (response.status !== status) throw new Error(`${method} ${base}${path}: ${response.status} ${text}, expected ${status}`);
  const parsed = JSON.parse(text) as Record<string, unknown>;
  if (field === undefined) return "";
  if (!(field in parsed)) throw new Error(`${method} ${base}${path}: no "${field}" in ${text}`);
  return String(parsed[field]);
}
