import { connect } from "node:net";
import { CLIENT_PREFACE, FLAG, FRAME, frame, grpcHeaders, grpcMessage, headerBlock } from "../../support/raw-http2";
import type { Random } from "./random";

/**
 * HTTP/2 connections no client library would make, written frame by frame over TCP
 * (test/support/raw-http2.ts): bad prefaces and SETTINGS, HEADERS on stream 0, on even
 * or reused ids, undecodable header blocks, bad padding, DATA on idle streams, frames
 * over the size limit, zero and overflowing window increments, stray CONTINUATION,
 * unknown frame types, a frame cut short. The server may refuse any of it (GOAWAY,
 * RST_STREAM, a closed connection): the check is that it stays up and well-behaved.
 */
export interface RawFramesCase {
  readonly index: number;
  /** What each piece is, for a failure message. */
  readonly steps: readonly string[];
  readonly bytes: Buffer;
  /** The preface was the real one: the server's first frame must be its SETTINGS. */
  readonly validPreface: boolean;
}

const GET = "/tokens.v1.TokenService/Get";

export function rawFramesCase(random: Random, index: number, authority: string): RawFramesCase {
  const steps: string[] = [];
  const parts: Buffer[] = [];
  const add = (step: string, bytes: Buffer): void => {
    steps.push(step);
    parts.push(bytes);
  };
  const validPreface = random.chance(0.93);
  if (validPreface) add("preface", CLIENT_PREFACE);
  else add("a wrong preface", random.pick([Buffer.from("PRI * HTTP/1.1\r\n\r\nSM\r\n\r\n"), random.bytes(24), Buffer.from("GET / HTTP/1.1\r\nHost: x\r\n\r\n")]));
  add(...settings(random));
  let nextStream = 1;
  for (let i = random.int(1, 8); i > 0; i -= 1) {
    const stream = nextStream;
    const previous = Math.max(1, stream - 2); // the last stream opened (or stream 1, still idle)
    const [step, bytes, opened] = random.weighted<() => [string, Buffer, boolean]>([
      [4, () => [`HEADERS for Get on stream ${stream}`, frame(FRAME.HEADERS, FLAG.END_HEADERS, stream, grpcHeaders(authority, GET)), true]],
      [2, () => [`HEADERS+END_STREAM on stream ${stream}`, frame(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.END_STREAM, stream, grpcHeaders(authority, GET)), true]],
      [3, () => [`DATA (a Get message) on stream ${previous}`, frame(FRAME.DATA, random.chance(0.5) ? FLAG.END_STREAM : 0, previous, grpcMessage(Buffer.from([0x0a, 0x01, 0x61]))), false]],
      [1, () => ["HEADERS on stream 0", frame(FRAME.HEADERS, FLAG.END_HEADERS, 0, grpcHeaders(authority, GET)), false]],
      [1, () => [`HEADERS on even stream ${stream + 1}`, frame(FRAME.HEADERS, FLAG.END_HEADERS, stream + 1, grpcHeaders(authority, GET)), false]],
      [1, () => [`HEADERS reusing stream ${previous}`, frame(FRAME.HEADERS, FLAG.END_HEADERS, previous, grpcHeaders(authority, GET)), false]],
      [1, () => [`an undecodable header block on stream ${stream}`, frame(FRAME.HEADERS, FLAG.END_HEADERS, stream, random.bytes(random.int(1, 40))), true]],
      [1, () => [`HEADERS with pseudo-headers after regular ones on stream ${stream}`, frame(FRAME.HEADERS, FLAG.END_HEADERS, stream, headerBlock([["content-type", "application/grpc"], [":method", "POST"], [":path", GET]])), true]],
      [1, () => [`HEADERS with a connection header on stream ${stream}`, frame(FRAME.HEADERS, FLAG.END_HEADERS, stream, grpcHeaders(authority, GET, [["connection", "keep-alive"]])), true]],
      [1, () => [`HEADERS with an upper-case name on stream ${stream}`, frame(FRAME.HEADERS, FLAG.END_HEADERS, stream, grpcHeaders(authority, GET, [["X-Upper", "v"]])), true]],
      [1, () => [`HEADERS without END_HEADERS, then nothing, on stream ${stream}`, frame(FRAME.HEADERS, 0, stream, grpcHeaders(authority, GET)), true]],
      [1, () => [`HEADERS with a pad length past the payload on stream ${stream}`, frame(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.PADDED, stream, Buffer.concat([Buffer.from([250]), grpcHeaders(authority, GET)])), true]],
      [1, () => [`HEADERS depending on itself on stream ${stream}`, frame(FRAME.HEADERS, FLAG.END_HEADERS | FLAG.PRIORITY, stream, Buffer.concat([u32(stream), Buffer.from([16]), grpcHeaders(authority, GET)])), true]],
      [1, () => ["DATA on stream 0", frame(FRAME.DATA, 0, 0, random.bytes(8)), false]],
      [1, () => [`DATA on idle stream ${stream + 100}`, frame(FRAME.DATA, 0, stream + 100, random.bytes(8)), false]],
      [1, () => ["a DATA frame over 16 KiB (the default max frame size)", frame(FRAME.DATA, 0, previous, random.bytes(20_000)), false]],
      [1, () => [`RST_STREAM on idle stream ${stream + 50}`, frame(FRAME.RST_STREAM, 0, stream + 50, u32(8)), false]],
      [2, () => {
        const code = random.pick([0, 1, 2, 3, 5, 7, 8, 11, 0xffff]);
        return [`RST_STREAM ${code} on stream ${previous}`, frame(FRAME.RST_STREAM, 0, previous, u32(code)), false];
      }],
      [1, () => ["RST_STREAM of 3 bytes", frame(FRAME.RST_STREAM, 0, previous, Buffer.alloc(3)), false]],
      [1, () => ["WINDOW_UPDATE of 0", frame(FRAME.WINDOW_UPDATE, 0, random.pick([0, previous]), u32(0)), false]],
      [1, () => ["WINDOW_UPDATE past 2^31-1", frame(FRAME.WINDOW_UPDATE, 0, 0, u32(2 ** 31 - 1)), false]],
      [1, () => ["PING of 7 bytes", frame(FRAME.PING, 0, 0, Buffer.alloc(7)), false]],
      [1, () => ["PING on stream 1", frame(FRAME.PING, 0, 1, Buffer.alloc(8)), false]],
      [1, () => ["a PING", frame(FRAME.PING, random.chance(0.5) ? FLAG.ACK : 0, 0, random.bytes(8)), false]],
      [1, () => ["GOAWAY", frame(FRAME.GOAWAY, 0, 0, Buffer.concat([u32(0), u32(random.pick([0, 1, 2]))])), false]],
      [1, () => ["CONTINUATION without HEADERS", frame(FRAME.CONTINUATION, FLAG.END_HEADERS, stream, grpcHeaders(authority, GET)), false]],
      [1, () => ["PUSH_PROMISE from a client", frame(FRAME.PUSH_PROMISE, FLAG.END_HEADERS, 1, Buffer.concat([u32(2), grpcHeaders(authority, GET)])), false]],
      [1, () => [`PRIORITY of 4 bytes`, frame(FRAME.PRIORITY, 0, stream, Buffer.alloc(4)), false]],
      [1, () => ["an unknown frame type", frame(random.int(10, 255), random.int(0, 255), random.int(0, 9), random.bytes(random.int(0, 30))), false]],
      [1, () => {
        const [label, bytes] = settings(random);
        return [`another ${label}`, bytes, false];
      }],
    ])();
    add(step, bytes);
    if (opened) nextStream += 2;
  }
  if (random.chance(0.1)) add("a frame cut short", frame(FRAME.DATA, 0, 1, random.bytes(100)).subarray(0, random.int(1, 60)));
  return { index, steps, bytes: Buffer.concat(parts), validPreface };
}

function settings(random: Random): [string, Buffer] {
  const entry = (id: number, value: number): Buffer => Buffer.concat([Buffer.from([id >> 8, id & 0xff]), u32(value)]);
  return random.weighted<() => [string, Buffer]>([
    [8, () => ["SETTINGS", frame(FRAME.SETTINGS, 0, 0)]],
    [1, () => ["SETTINGS with ENABLE_PUSH=2", frame(FRAME.SETTINGS, 0, 0, entry(2, 2))]],
    [1, () => ["SETTINGS with INITIAL_WINDOW_SIZE=2^31", frame(FRAME.SETTINGS, 0, 0, entry(4, 2 ** 31))]],
    [1, () => ["SETTINGS with MAX_FRAME_SIZE=100", frame(FRAME.SETTINGS, 0, 0, entry(5, 100))]],
    [1, () => ["SETTINGS with an unknown id", frame(FRAME.SETTINGS, 0, 0, entry(0x99, 7))]],
    [1, () => ["SETTINGS of 5 bytes", frame(FRAME.SETTINGS, 0, 0, Buffer.alloc(5))]],
    [1, () => ["SETTINGS ACK with a payload", frame(FRAME.SETTINGS, FLAG.ACK, 0, entry(3, 10))]],
    [1, () => ["SETTINGS on stream 1", frame(FRAME.SETTINGS, 0, 1)]],
  ])();
}

function u32(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(value >>> 0, 0);
  return out;
}

/** What the server sent on one raw connection. */
export interface RawFramesOutcome {
  readonly received: Buffer;
  /** The server closed the connection (rather than the client, after a quiet spell). */
  readonly closedByServer: boolean;
}

/** Writes the case, then reads until the server closes or stays quiet for `quietMs`. */
export function sendRawFrames(port: number, c: RawFramesCase, quietMs: number): Promise<RawFramesOutcome> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (closedByServer: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(quiet);
      socket.destroy();
      resolve({ received: Buffer.concat(chunks), closedByServer });
    };
    let quiet = setTimeout(() => finish(false), quietMs);
    socket.on("data", (chunk: Buffer) => {
      chunks.push(chunk);
      clearTimeout(quiet);
      quiet = setTimeout(() => finish(false), quietMs);
    });
    socket.on("error", () => undefined);
    socket.on("close", () => finish(true));
    socket.write(c.bytes);
  });
}

/** The problems of one raw connection: with the real preface, the server's first frame is its SETTINGS. */
export function rawFramesProblems(c: RawFramesCase, outcome: RawFramesOutcome): string[] {
  if (!c.validPreface) return [];
  if (outcome.received.length < 9) return [`the server sent ${outcome.received.length} bytes, not even its SETTINGS (closed by the server: ${outcome.closedByServer})`];
  return outcome.received[3] === FRAME.SETTINGS ? [] : [`the server's first frame is of type ${outcome.received[3]}, not SETTINGS`];
}
