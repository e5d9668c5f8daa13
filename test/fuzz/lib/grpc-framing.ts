import { deflateSync, gzipSync, gunzipSync, inflateSync } from "node:zlib";
import type { Random } from "./random";

/**
 * gRPC's length-prefixed messages (compressed flag, uint32 length, bytes), written right
 * and wrong, and read back the way grpc-js reads them, so a case knows which messages
 * the server will see whole and what each one should make it answer.
 */
export type FrameStyle =
  | "plain"
  /** Flag 1, the bytes as they are: compressed by nothing the call declared. */
  | "flag-1"
  /** Flag 1 and the bytes compressed with gzip / deflate (right only when grpc-encoding says so). */
  | "gzip"
  | "deflate"
  /** Flag 1 and random bytes: nothing decompresses them. */
  | "flag-1-junk"
  /** A flag of 2..255 (the spec knows 0 and 1). */
  | "odd-flag"
  /** The length says more than follows (what follows is read as part of this message). */
  | "length-too-long"
  /** The length says less: the rest is read as the next frame's header. */
  | "length-too-short"
  /** A length over every limit. */
  | "huge-length";

export function frame(random: Random, message: Uint8Array, style: FrameStyle): Buffer {
  const bytes = Buffer.from(message);
  const prefixed = (flag: number, length: number, body: Buffer): Buffer => {
    const head = Buffer.alloc(5);
    head[0] = flag;
    head.writeUInt32BE(length, 1);
    return Buffer.concat([head, body]);
  };
  switch (style) {
    case "plain":
      return prefixed(0, bytes.length, bytes);
    case "flag-1":
      return prefixed(1, bytes.length, bytes);
    case "gzip": {
      const packed = gzipSync(bytes);
      return prefixed(1, packed.length, packed);
    }
    case "deflate": {
      const packed = deflateSync(bytes);
      return prefixed(1, packed.length, packed);
    }
    case "flag-1-junk": {
      const junk = random.bytes(random.int(1, 30));
      return prefixed(1, junk.length, junk);
    }
    case "odd-flag":
      return prefixed(random.int(2, 255), bytes.length, bytes);
    case "length-too-long":
      return prefixed(0, bytes.length + random.int(1, 100), bytes);
    case "length-too-short":
      return prefixed(0, Math.max(0, bytes.length - random.int(1, Math.max(1, bytes.length))), bytes);
    case "huge-length":
      return prefixed(0, random.pick([65_537, 1_000_000, 2 ** 32 - 1]), bytes);
  }
}

export interface ReadFrames {
  /** The whole frames, in order: flag and body. */
  readonly frames: readonly { readonly flag: number; readonly body: Buffer }[];
  /** A frame header announced more than the server accepts: it stops there (RESOURCE_EXHAUSTED). */
  readonly oversize: boolean;
  /** Bytes were left over at the end: a frame cut short. */
  readonly partial: boolean;
}

/** The frames in `payload` as grpc-js's stream decoder splits them, with its size limit. */
export function readFrames(payload: Buffer, maxLength: number): ReadFrames {
  const frames: { flag: number; body: Buffer }[] = [];
  let at = 0;
  while (at < payload.length) {
    if (payload.length - at < 5) return { frames, oversize: false, partial: true };
    const flag = payload[at] as number;
    const length = payload.readUInt32BE(at + 1);
    if (length > maxLength) return { frames, oversize: true, partial: false };
    if (payload.length - at - 5 < length) return { frames, oversize: false, partial: true };
    frames.push({ flag, body: payload.subarray(at + 5, at + 5 + length) });
    at += 5 + length;
  }
  return { frames, oversize: false, partial: false };
}

/**
 * What the server makes of one whole frame under the call's grpc-encoding: the message
 * bytes, or the status it must answer. Flag 1 needs an encoding the call declared
 * (none or identity: INTERNAL, the spec's "bad compressed flag"); an encoding the
 * server lacks is UNIMPLEMENTED (the spec); bytes that do not decompress are INTERNAL;
 * a message that decompresses past the limit is RESOURCE_EXHAUSTED. Any other flag is
 * read as uncompressed, as grpc-js does (the spec has no other flag values).
 */
export type FrameVerdict = { readonly kind: "message"; readonly bytes: Buffer } | { readonly kind: "status"; readonly code: number; readonly why: string };

export function frameVerdict(flag: number, body: Buffer, encoding: string | undefined, maxLength: number): FrameVerdict {
  if (flag !== 1) return { kind: "message", bytes: body };
  if (encoding === undefined || encoding === "identity") return { kind: "status", code: 13, why: "compressed flag without a grpc-encoding" };
  if (encoding !== "gzip" && encoding !== "deflate") return { kind: "status", code: 12, why: "a grpc-encoding the server does not support" };
  let unpacked: Buffer;
  try {
    unpacked = encoding === "gzip" ? gunzipSync(body) : inflateSync(body);
  } catch {
    return { kind: "status", code: 13, why: `a message that does not decompress as ${encoding}` };
  }
  if (unpacked.length > maxLength) return { kind: "status", code: 8, why: "a message that decompresses past the size limit" };
  return { kind: "message", bytes: unpacked };
}
