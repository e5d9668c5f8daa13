import { grownCapacity } from "./indexed-heap";

/**
 * Key ids by slot, without a JS string or Map entry per key: each id's 128 bits
 * live as four int32 words in one typed array, and an open-addressing hash table
 * (linear probing, backward-shift deletion, load ≤ 1/2) maps ids to slots.
 * About 24-32 bytes a key, where a Map<string, number> with its strings costs ~70.
 *
 * The ids are random, so their first word is already a uniform hash; callers
 * cannot choose stored ids, so they cannot build long probe chains either.
 */
export class KeyIdTable {
  /** words[4 * slot .. 4 * slot + 3]: the slot's id. */
  private words = new Int32Array(64);
  /** slot + 1, or 0 for an empty bucket. */
  private buckets = new Int32Array(32);
  private mask = 31;
  private count = 0;
  private readonly probe = new Int32Array(4);
  private readonly probeBytes = new Uint8Array(this.probe.buffer);

  get size(): number {
    return this.count;
  }

  /** The slot holding `keyId`, or -1 (also for any string that is not a canonical id). */
  find(keyId: string): number {
    return decodeKeyId(keyId, this.probeBytes) ? this.findWords(this.probe) : -1;
  }

  /**
   * Records `keyId` for `slot`. Returns false, changing nothing, when the id is
   * already present. Throws when `keyId` is not a canonical 128-bit base64url id.
   */
  add(slot: number, keyId: string): boolean {
    if (!decodeKeyId(keyId, this.probeBytes)) throw new RangeError(`not a 128-bit base64url key id: ${keyId}`);
    if (this.findWords(this.probe) >= 0) return false;
    this.store(slot);
    return true;
  }

  /** Stores the probe words as the slot's id and indexes it. */
  private store(slot: number): void {
    if (4 * slot + 4 > this.words.length) {
      const words = new Int32Array(grownCapacity(this.words.length, 4 * slot + 4));
      words.set(this.words);
      this.words = words;
    }
    this.words.set(this.probe, 4 * slot);
    if (2 * (this.count + 1) > this.buckets.length) this.rehash(this.buckets.length * 2);
    this.place(slot);
    this.count += 1;
  }

  /**
   * Records a fresh random id for `slot`, drawn by `fill` (16 bytes), drawing
   * again on the 2^-128 chance it exists, and returns its spelling.
   */
  addRandom(slot: number, fill: (bytes: Uint8Array) => void): string {
    do fill(this.probeBytes);
    while (this.findWords(this.probe) >= 0);
    this.store(slot);
    return encodeKeyId(this.probe, 0);
  }

  /** Forgets the slot's id. */
  remove(slot: number): void {
    const { buckets, mask } = this;
    let at = this.bucketOf(slot);
    if (at < 0) return;
    buckets[at] = 0;
    this.count -= 1;
    // Backward-shift deletion: pull later entries of the run into the hole so
    // every remaining entry stays reachable from its home bucket, with no tombstones.
    let next = (at + 1) & mask;
    while (buckets[next] !== 0) {
      const moved = (buckets[next] as number) - 1;
      const home = (this.words[4 * moved] as number) & mask;
      // Move it when its home is not strictly between the hole and its bucket (cyclically).
      if (((next - home) & mask) >= ((next - at) & mask)) {
        buckets[at] = moved + 1;
        buckets[next] = 0;
        at = next;
      }
      next = (next + 1) & mask;
    }
  }

  keyIdOf(slot: number): string {
    return encodeKeyId(this.words, 4 * slot);
  }

  private findWords(id: Int32Array): number {
    const { buckets, words, mask } = this;
    const w0 = id[0] as number;
    const w1 = id[1] as number;
    const w2 = id[2] as number;
    const w3 = id[3] as number;
    for (let at = w0 & mask; ; at = (at + 1) & mask) {
      const entry = buckets[at] as number;
      if (entry === 0) return -1;
      const base = 4 * (entry - 1);
      if (words[base] === w0 && words[base + 1] === w1 && words[base + 2] === w2 && words[base + 3] === w3) return entry - 1;
    }
  }

  private bucketOf(slot: number): number {
    const { buckets, mask } = this;
    for (let at = (this.words[4 * slot] as number) & mask; ; at = (at + 1) & mask) {
      const entry = buckets[at] as number;
      if (entry === 0) return -1;
      if (entry === slot + 1) return at;
    }
  }

  private place(slot: number): void {
    const { buckets, mask } = this;
    let at = (this.words[4 * slot] as number) & mask;
    while (buckets[at] !== 0) at = (at + 1) & mask;
    buckets[at] = slot + 1;
  }

  private rehash(capacity: number): void {
    const old = this.buckets;
    this.buckets = new Int32Array(capacity);
    this.mask = capacity - 1;
    for (const entry of old) if (entry !== 0) this.place(entry - 1);
  }
}

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const SEXTET = new Int8Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i += 1) SEXTET[ALPHABET.charCodeAt(i)] = i;
/** A canonical key id's length: 128 bits in base64url, one character per 6 bits. */
export const ID_CHARS = 22;

/**
 * Decodes a canonical 22-character base64url id into 16 bytes. Canonical: only
 * the URL-safe alphabet, and the 4 bits past the 128th zero, so every id has
 * exactly one spelling (otherwise sixteen strings would name one key).
 * Four characters make three bytes; the last two characters make the 16th byte.
 */
export function decodeKeyId(keyId: string, out: Uint8Array): boolean {
  if (keyId.length !== ID_CHARS) return false;
  for (let group = 0; group < 5; group += 1) {
    const i = 4 * group;
    const c0 = keyId.charCodeAt(i);
    const c1 = keyId.charCodeAt(i + 1);
    const c2 = keyId.charCodeAt(i + 2);
    const c3 = keyId.charCodeAt(i + 3);
    if ((c0 | c1 | c2 | c3) > 127) return false;
    const s0 = SEXTET[c0] as number;
    const s1 = SEXTET[c1] as number;
    const s2 = SEXTET[c2] as number;
    const s3 = SEXTET[c3] as number;
    if ((s0 | s1 | s2 | s3) < 0) return false;
    const bits = (s0 << 18) | (s1 << 12) | (s2 << 6) | s3;
    const o = 3 * group;
    out[o] = bits >> 16;
    out[o + 1] = bits >> 8;
    out[o + 2] = bits;
  }
  const c20 = keyId.charCodeAt(20);
  const c21 = keyId.charCodeAt(21);
  if ((c20 | c21) > 127) return false;
  const s20 = SEXTET[c20] as number;
  const s21 = SEXTET[c21] as number;
  if ((s20 | s21) < 0 || (s21 & 15) !== 0) return false;
  out[15] = (s20 << 2) | (s21 >> 4);
  return true;
}

const scratch = Buffer.alloc(16);
const scratchWords = new Int32Array(scratch.buffer, scratch.byteOffset, 4);

/** The base64url spelling of the 16 bytes at words[offset..offset+3]. */
export function encodeKeyId(words: Int32Array, offset: number): string {
  scratchWords[0] = words[offset] as number;
  scratchWords[1] = words[offset + 1] as number;
  scratchWords[2] = words[offset + 2] as number;
  scratchWords[3] = words[offset + 3] as number;
  return scratch.toString("base64url");
}
