/**
 * Part 2: the compiled in-memory service against the bare baselines, every
 * workload over gRPC (h2load; against bare grpc-js) and REST (wrk; against bare
 * node:http and bare Express, side by side), on a pool of `settings.pool` keys.
 */
import { createTokenClient } from "../../clients";
import { authToken } from "./auth";
import { grpcRow, restRow, type Row } from "./compare";
import type { Settings } from "./settings";
import { fillPool, grpcOf, startAll, startBaseline, startService, type Target } from "./targets";
import { fitsEveryBody, type GrpcWorkload, grpcWorkloads, restWorkloads } from "./workloads";

export const TRANSPORTS = ["grpc", "rest"] as const;
export type Transport = (typeof TRANSPORTS)[number];

export async function memorySection(
  settings: Settings,
  log: (line: string) => void,
  serviceAuthEnv: Readonly<Record<string, string>> = {},
  transports: readonly Transport[] = TRANSPORTS,
): Promise<Row[]> {
  const targets: Target[] = [];
  try {
    // KEY_TTL far beyond the bench: no expiry work mixed into these rows (part 3 measures that).
    const [service, bareGrpc, bareNode, bareExpress] = (await startAll(
      [
        startService("service", settings, { STORE: "memory", KEY_TTL: "1h", BLOCK_TTL: settings.blockTtl, ...serviceAuthEnv }),
        startBaseline("grpc", settings),
        startBaseline("node", settings),
        startBaseline("express", settings),
      ],
      targets,
    )) as [Target, Target, Target, Target];
    log(`memory: filling ${settings.pool} keys`);
    await fillPool(service, settings.pool, settings);
    const keyId = await liveKey(grpcOf(service));
    const rows: Row[] = [];
    // REST first: its Create+Delete pairs leave the pool as it was, while gRPC Create (last) grows it.
    for (const workload of transports.includes("rest") ? restWorkloads(keyId) : []) {
      log(`memory: REST ${workload.name}`);
      // REST's reference is bare node:http (the service's server is node:http too); bare Express runs in the same rounds.
      rows.push(await restRow(workload, [service, bareNode, bareExpress], settings));
    }
    for (const workload of transports.includes("grpc") ? grpcWorkloads(keyId) : []) {
      log(`memory: gRPC ${workload.name}`);
      rows.push(await grpcRow([workload, workload], [service, bareGrpc], settings, settings.pool));
    }
    return [...rows.filter((r) => r.transport === "gRPC"), ...rows.filter((r) => r.transport === "REST")];
  } finally {
    await Promise.all(targets.map((target) => target.process.stop()));
  }
}

/** A key of the pool that every named-key workload uses (KEY_TTL keeps it alive for the whole bench). */
/** A live key whose id fits every row's one body (fitsEveryBody); the keys made on the way are deleted. */
export async function liveKey(address: string): Promise<string> {
  const client = createTokenClient(address, authToken());
  try {
    for (let attempt = 0; attempt < 50_000; attempt += 1) {
      const { keyId } = await client.create({}, { timeoutMs: 5000 });
      if (fitsEveryBody(keyId)) return keyId;
      await client.delete({ keyId }, { timeoutMs: 5000 });
    }
    throw new Error("no key id fit every row's body in 50,000 tries");
  } finally {
    client.close();
  }
}

/**
 * With --auth: what checking bearer tokens costs, measured side by side in one run. The
 * same service twice, one with AUTH_TOKENS_FILE and one open, both sent the token (the
 * open one ignores it). Workloads that need no shared fixed key on REST (the two
 * services' keys differ): gRPC Get (each with its own live key) and Create, REST
 * Acquire+Release and Create+Delete (chained ids).
 */
export async function authCostSection(
  settings: Settings,
  log: (line: string) => void,
  authEnv: Readonly<Record<string, string>>,
  transports: readonly Transport[] = TRANSPORTS,
): Promise<Row[]> {
  const targets: Target[] = [];
  try {
    const env = { STORE: "memory", KEY_TTL: "1h", BLOCK_TTL: settings.blockTtl };
    const [withTokens, open] = (await startAll(
      [startService("service, tokens", settings, { ...env, ...authEnv }), startService("service, open", settings, env)],
      targets,
    )) as [Target, Target];
    log(`auth cost: filling ${settings.pool} keys in each`);
    await Promise.all([fillPool(withTokens, settings.pool, settings), fillPool(open, settings.pool, settings)]);
    const keys = [await liveKey(grpcOf(withTokens)), await liveKey(grpcOf(open))] as const;
    const rows: Row[] = [];
    if (transports.includes("grpc")) {
      for (const name of ["Get", "Create"]) {
        log(`auth cost: gRPC ${name}`);
        const pick = (keyId: string) => grpcWorkloads(keyId).find((w) => w.name === name) as GrpcWorkload;
        rows.push(await grpcRow([pick(keys[0]), pick(keys[1])], [withTokens, open], settings, settings.pool));
      }
    }
    if (transports.includes("rest")) {
      for (const workload of restWorkloads(keys[0]).filter((w) => w.name === "Acquire+Release" || w.name === "Create+Delete")) {
        log(`auth cost: REST ${workload.name}`);
        rows.push(await restRow(workload, [withTokens, open], settings));
      }
    }
    return rows;
  } finally {
    await Promise.all(targets.map((target) => target.process.stop()));
  }
}
