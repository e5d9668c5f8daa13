import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Random } from "./random";

/** The bearer tokens of the fuzz's secured server: fixed, so a case sends the same bytes on every run. */
export const FUZZ_TOKENS = {
  admin: "fuzz-admin-token-7d1c9e0b",
  client: "fuzz-client-token-3a8f5e21",
} as const;

export type TokenChoice = "admin" | "client" | "wrong" | "none";

/** Writes an AUTH_TOKENS_FILE (`<role> <token> [<name>]` lines) for the fuzz tokens into `dir`. */
export function writeTokensFile(dir: string): string {
  const path = join(dir, "tokens");
  writeFileSync(path, `# the fuzz's tokens\nadmin ${FUZZ_TOKENS.admin} fuzz-admin\nclient ${FUZZ_TOKENS.client} fuzz-client\n`);
  return path;
}

/**
 * The role an `authorization` value gets, by the documented rule (docs/api.md: the scheme
 * `Bearer`, any letter case, one or more spaces, the token, nothing after it but spaces),
 * so a case knows which answers its token allows.
 */
export function roleOf(authorization: string | undefined): "admin" | "client" | undefined {
  const token = authorization === undefined ? undefined : /^bearer +(\S+) *$/i.exec(authorization)?.[1];
  return token === FUZZ_TOKENS.admin ? "admin" : token === FUZZ_TOKENS.client ? "client" : undefined;
}

const TOKEN_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/**
 * An `authorization` value for a case, REST or gRPC alike: a right token (admin or
 * client), a wrong one or a planted marker, in well- and ill-formed spellings, or none.
 */
export function fuzzAuthorization(random: Random, plant: () => string): string | undefined {
  const token = random.weighted<string>([
    [3, FUZZ_TOKENS.admin],
    [3, FUZZ_TOKENS.client],
    [2, `wrong-token-${random.text(16, TOKEN_CHARS)}`],
    [1, plant()],
  ]);
  return random.weighted<string | undefined>([
    [6, `Bearer ${token}`],
    [1, `bearer ${token}`],
    [1, `Bearer   ${token}`],
    [1, `Basic ${Buffer.from(`user:${plant()}`).toString("base64")}`],
    [1, "Bearer"],
    [1, ""],
    [1, `Bearer ${token} ${plant()}`],
    [4, undefined],
  ]);
}
