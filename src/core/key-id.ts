import { randomFillSync } from "node:crypto";
import { DomainError } from "./errors";

/** Longest key id a caller may send (contract). Longer ones are INVALID_ARGUMENT, never looked up. */
export const MAX_KEY_ID_LENGTH = 128;

/**
 * Checks a key id from a caller: 1..128 characters, counted as Unicode code points
 * (what a person calls characters; "é" or "🔑" is one). Any such string is then simply looked up.
 */
export function checkKeyId(keyId: string): string {
  if (keyId.length === 0) {
    throw new DomainError("invalid_argument", "key_id must not be empty");
  }
  // Code units ≥ code points ≥ code units / 2: count only in the band where they differ.
  if (keyId.length > MAX_KEY_ID_LENGTH && (keyId.length > 2 * MAX_KEY_ID_LENGTH || codePoints(keyId) > MAX_KEY_ID_LENGTH)) {
    throw new DomainError("invalid_argument", `key_id must be at most ${MAX_KEY_ID_LENGTH} characters`);
  }
  return keyId;
}

function codePoints(text: string): number {
  let count = 0;
  for (const _ of text) count += 1;
  return count;
}

const ID_BYTES = 16; // 128 bits, base64url: 22 URL-safe characters
const BATCH = 256;
// Filling one buffer for 256 ids costs one syscall-backed CSPRNG call instead of 256.
const entropy = Buffer.alloc(ID_BYTES * BATCH);
let offset = entropy.length;

/** Fills `out` with 16 bytes (128 bits) from the CSPRNG. */
export function randomIdBytes(out: Uint8Array): void {
  if (offset === entropy.length) {
    randomFillSync(entropy);
    offset = 0;
  }
  // A plain copy: subarray() would allocate a Buffer per id.
  for (let i = 0; i < ID_BYTES; i += 1) out[i] = entropy[offset + i] as number;
  offset += ID_BYTES;
}

/** A new key id: 128 bits from the CSPRNG, base64url without padding (22 characters). */
export function randomKeyId(): string {
  const bytes = Buffer.alloc(ID_BYTES);
  randomIdBytes(bytes);
  return bytes.toString("base64url");
}
