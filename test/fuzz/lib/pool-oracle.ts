import type { ServiceError } from "../../../clients";
import type { FuzzServer } from "./fuzz-server";
import { exchangeRaw } from "./rest-exchange";
import { FUZZ_TOKENS } from "./tokens";

/**
 * The pool's invariants after the fuzz, through the typed client (the admin token when
 * the server has tokens): once the fuzz's holds and cooldowns have run out (2 s at
 * most), Stats's total is the number of keys a List walk finds, all of them available;
 * acquiring that many times gives exactly those keys, each once; one more Acquire is
 * NOT_FOUND (REST: 404 with the body {}); Stats then counts them all leased. Keys the
 * fuzz made with lifetimes short enough to end during the check are deleted first, so
 * none expires halfway through it. Returns what is wrong (empty: nothing).
 */
export async function poolProblems(server: FuzzServer): Promise<{ readonly keys: number; readonly problems: string[] }> {
  const { admin } = server;
  const settled = await settle(server);
  if (settled !== undefined) return { keys: 0, problems: [settled] };
  const soon = Date.now() + 30_000;
  for (const key of await listAll(server)) {
    if ((key.expiresAt?.getTime() ?? 0) < soon) await admin.delete({ keyId: key.keyId }).catch(() => undefined); // it may expire first
  }
  for (let i = 0; i < 3; i += 1) await admin.create({}); // never an empty pool
  const listed = new Set((await listAll(server)).map((key) => key.keyId));
  const before = await admin.stats({});
  const problems: string[] = [];
  if (before.total !== listed.size) problems.push(`Stats says ${before.total} keys, a List walk finds ${listed.size}`);
  if (before.available !== before.total) problems.push(`${before.total - before.available} of ${before.total} keys are not available after every hold ended: ${JSON.stringify(before)}`);
  const n = before.total;
  // Holds of 2 s (MAX_BLOCK_TTL): the checks below must all happen before the first of them ends.
  const acquired = await Promise.all(Array.from({ length: n }, () => admin.acquire({ blockTtl: { seconds: 2, nanos: 0 } })));
  const firstRelease = Math.min(...acquired.map((answer) => answer.releaseAt?.getTime() ?? 0));
  const ids = acquired.map((answer) => answer.keyId);
  const distinct = new Set(ids);
  if (distinct.size !== n) problems.push(`${n} Acquires gave ${distinct.size} distinct keys`);
  const strangers = ids.filter((id) => !listed.has(id));
  if (strangers.length > 0) problems.push(`Acquire gave ${strangers.length} key(s) List never showed`);
  const extra = await admin.acquire({}).then(
    (answer) => `key ${answer.keyId}`,
    (error: ServiceError) => error.code,
  );
  if (extra !== 5) problems.push(`Acquire number ${n + 1} gave ${typeof extra === "number" ? `code ${extra}` : extra}, not NOT_FOUND`);
  const rest = await restAcquire(server);
  if (rest !== "404 {}") problems.push(`GET /keys with every key leased answered ${rest}, not 404 {}`);
  const after = await admin.stats({});
  if (after.leased !== n || after.total !== n || after.available !== 0) problems.push(`Stats after acquiring all ${n}: ${JSON.stringify(after)}`);
  if (Date.now() >= firstRelease) return { keys: n, problems: [`inconclusive: the checks took longer than the 2 s holds (the machine is too busy); then: ${problems.join("; ") || "nothing wrong"}`] };
  return { keys: n, problems };
}

/** Waits (polling Stats) until no key is leased or cooling: the fuzz's holds last 2 s at most. */
async function settle(server: FuzzServer): Promise<string | undefined> {
  const deadline = Date.now() + 6000;
  for (;;) {
    const stats = await server.admin.stats({});
    if (stats.leased === 0 && stats.cooling === 0) return undefined;
    if (Date.now() > deadline) return `keys still held 6 s after the fuzz (holds last 2 s at most): ${JSON.stringify(stats)}`;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function listAll(server: FuzzServer): Promise<{ keyId: string; expiresAt?: Date | undefined }[]> {
  const keys: { keyId: string; expiresAt?: Date | undefined }[] = [];
  let pageToken = "";
  do {
    const page = await server.admin.list({ pageSize: 1000, pageToken });
    keys.push(...page.keys);
    pageToken = page.nextPageToken;
  } while (pageToken !== "");
  return keys;
}

/** GET /keys over REST: "<status> <body>". */
async function restAcquire(server: FuzzServer): Promise<string> {
  const authorization = server.secured ? `Authorization: Bearer ${FUZZ_TOKENS.admin}\r\n` : "";
  const outcome = await exchangeRaw(server.harness.app.httpPort, Buffer.from(`GET /keys HTTP/1.1\r\nHost: fuzz\r\n${authorization}\r\n`), {
    method: "GET",
    halfClose: false,
    timeoutMs: 5000,
  });
  return outcome.kind === "answered" ? `${outcome.response.status} ${outcome.response.body.toString("utf8")}` : outcome.kind;
}

/** GET /healthz over REST: its status, or what happened instead. */
export async function healthStatus(server: FuzzServer): Promise<string> {
  const outcome = await exchangeRaw(server.harness.app.httpPort, Buffer.from("GET /healthz HTTP/1.1\r\nHost: fuzz\r\n\r\n"), { method: "GET", halfClose: false, timeoutMs: 5000 });
  return outcome.kind === "answered" ? String(outcome.response.status) : outcome.kind;
}
