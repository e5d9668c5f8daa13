/**
 * `--auth`: the service runs with AUTH_TOKENS_FILE (one admin token) and every request the
 * bench sends carries `authorization: Bearer <token>`, baselines included (they ignore it),
 * so the rows show what authentication costs against the same ratio targets. Held here
 * once for the whole run, as the bench's command line sets it.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";

const TOKEN = "bench-admin-token-0123456789abcdef";
let enabled = false;

/** Turns authentication on; answers the environment the service needs (its tokens file in `dir`). */
export function enableAuth(dir: string): Record<string, string> {
  enabled = true;
  const file = join(dir, "tokens");
  writeFileSync(file, `admin ${TOKEN} bench\n`);
  return { AUTH_TOKENS_FILE: file };
}

/** The header every bench request carries, or none. */
export function authHeaders(): Record<string, string> {
  return enabled ? { authorization: `Bearer ${TOKEN}` } : {};
}

/** The same as h2load/wrk `-H` arguments. */
export function authArgs(): string[] {
  return enabled ? ["-H", `authorization: Bearer ${TOKEN}`] : [];
}

/** The token for the typed client, when on. */
export function authToken(): { token: string } | Record<string, never> {
  return enabled ? { token: TOKEN } : {};
}
