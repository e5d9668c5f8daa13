/**
 * What each storm is: the deadline that N keys share, the steady load that runs
 * across it (which must include the call that used to stall on it), and the
 * service's settings that make the storm possible.
 *
 * - expiry:   N available keys expire on one millisecond; steady Get of a live key.
 * - release:  N keys are blocked and their holds end on one millisecond; steady
 *             Acquire / Release / Get (the first Acquire after the instant is what stalled).
 * - capacity: the pool holds MAX_KEYS = N + 1 (N keys and the live one) and the N
 *             expire on one millisecond; steady Create / Get. Before the instant every
 *             Create is refused (RESOURCE_EXHAUSTED, the pool is full); from it, each
 *             Create frees one passed expiry.
 */
import { GetRequest, ReleaseRequest } from "../../clients/generated/tokens/v1/tokens";
import type { StormSettings } from "./settings";
import type { GrpcWorkload } from "./workloads";

export const STORM_KINDS = ["expiry", "release", "capacity"] as const;
export type StormKind = (typeof STORM_KINDS)[number];
export const STORM_STORES = ["memory", "redis"] as const;
export type StormStore = (typeof STORM_STORES)[number];

const SERVICE = "/tokens.v1.TokenService";

/** The steady load: h2load cycles the methods on every connection, all with one body. */
export function steadyLoad(kind: StormKind, liveId: string): GrpcWorkload {
  switch (kind) {
    case "expiry":
      return { name: "Get", measures: "steady gRPC Get of a live key", methods: [`${SERVICE}/Get`], message: GetRequest.encode({ keyId: liveId }).finish(), acquireShare: 0 };
    case "release":
      return {
        name: "Acquire/Release/Get",
        measures: "steady gRPC Acquire, Release of the live key, Get of the live key, in turn",
        methods: [`${SERVICE}/Acquire`, `${SERVICE}/Release`, `${SERVICE}/Get`],
        // A ReleaseRequest{key_id} is also a valid GetRequest; to AcquireRequest it is block_ttl 0s (see fitsEveryBody).
        message: ReleaseRequest.encode({ keyId: liveId }).finish(),
        acquireShare: 1 / 3,
      };
    case "capacity":
      return {
        name: "Create/Get",
        measures: "steady gRPC Create and Get of the live key, in turn (Create is refused before the instant: the pool is full)",
        methods: [`${SERVICE}/Create`, `${SERVICE}/Get`],
        // CreateRequest has no fields: the key_id is skipped as unknown.
        message: GetRequest.encode({ keyId: liveId }).finish(),
        acquireShare: 0,
      };
  }
}

/**
 * The storm server's environment beyond the common part. On memory the fill runs with the
 * app's clock held, so the storm's deadline is fill time + KEY_TTL (expiry, capacity) or
 * + BLOCK_TTL (release): those are `leadSeconds`. On Redis the bench writes every deadline
 * itself, so both TTLs are an hour: nothing else passes a deadline during a run, and the
 * steady Acquires draw from the spare keys instead of handing keys back.
 */
export function stormEnv(kind: StormKind, store: StormStore, storm: StormSettings): Record<string, string> {
  const lead = `${storm.leadSeconds}s`;
  const maxKeys = kind === "capacity" ? String(storm.keys + 1) : "100000000";
  if (store === "redis") return { STORE: "redis", KEY_TTL: "1h", BLOCK_TTL: "1h", MAX_KEYS: maxKeys };
  return { STORE: "memory", KEY_TTL: kind === "release" ? "1h" : lead, BLOCK_TTL: kind === "release" ? lead : "1h", MAX_KEYS: maxKeys };
}

/** The Redis set whose members' deadlines make the storm (ZCOUNT up to now = the backlog left). */
export const stormZset = (kind: StormKind): "expiry" | "release" => (kind === "release" ? "release" : "expiry");
