import type { DescMethod } from "@bufbuild/protobuf";
import { CreateRequestSchema, TokenService } from "../../../src/generated/tokens/v1/tokens_pb";
import { type FrameStyle, frame, frameVerdict, readFrames } from "./grpc-framing";
import { marker } from "./markers";
import { type FuzzMessage, fuzzMessage, parses } from "./protobuf-fuzz";
import type { Random } from "./random";
import { fuzzAuthorization, roleOf } from "./tokens";

/**
 * Hostile gRPC calls, one HTTP/2 stream each: real and unknown methods, right and wrong
 * content types, tokens good and bad, grpc-timeout values good and malformed, encodings,
 * junk metadata; request messages valid or broken (see protobuf-fuzz.ts), framed right
 * or wrong (grpc-framing.ts); and an ending: END_STREAM, or a reset before, during or
 * after the body. Each case carries its expectation: the statuses the call may end with,
 * from the gRPC spec's status table and the contract, and why each is allowed.
 */
export interface GrpcCase {
  readonly index: number;
  readonly path: string;
  /** The method the path names, when it names one. */
  readonly method: DescMethod | undefined;
  readonly httpMethod: string;
  /** Request headers besides :method and :path (names lower-case). */
  readonly headers: readonly (readonly [string, string])[];
  readonly messages: readonly { readonly message: FuzzMessage; readonly style: FrameStyle }[];
  /** The DATA bytes: every frame, in order. */
  readonly payload: Buffer;
  readonly ending: Ending;
  /** The RST_STREAM code of a reset ending. */
  readonly resetCode: number;
  readonly expectation: GrpcExpectation;
}

export type Ending = "end" | "reset-before-body" | "reset-mid-body" | "reset-after-body" | "end-then-reset";

export interface GrpcExpectation {
  /** Each status the call may end with, and why it is allowed. */
  readonly allowed: ReadonlyMap<number, string>;
  /**
   * "grpc": the server must answer as gRPC (HTTP 200, a grpc-status); "not-grpc": it must
   * refuse with HTTP 415 and no grpc-status (the spec's answer to a non-gRPC content type);
   * "either": grpc-js's prefix test and the spec differ (application/grpcx, a method other than POST).
   */
  readonly transport: "grpc" | "not-grpc" | "either";
  /** The server may reset the stream: a header field HTTP/2 forbids (leading or trailing whitespace). */
  readonly serverMayReset: boolean;
  /** KeepAliveStream ending OK: one answer per request message, exactly. */
  readonly answers: number | undefined;
}

export interface GrpcContext {
  readonly knownKeys: readonly string[];
  readonly secured: boolean;
}

/** The server's receive limit (GRPC_LIMITS in src/transport/grpc/server.ts). */
export const MAX_MESSAGE = 64 * 1024;

/** The contract's roles: these five are the client role's; every other method is admin only. */
const CLIENT_METHODS = new Set(["Acquire", "Get", "Release", "KeepAlive", "KeepAliveStream"]);

/** The statuses each method's own rules give (docs/api.md), past authentication. */
const SERVICE_CODES: Readonly<Record<string, readonly number[]>> = {
  Create: [0, 3],
  Acquire: [0, 3, 5],
  Get: [0, 3, 5],
  Delete: [0, 3, 5],
  Release: [0, 3, 5, 10],
  KeepAlive: [0, 3, 5, 10],
  Stats: [0],
  List: [0, 3],
  KeepAliveStream: [0],
  Watch: [0, 3, 11],
};

const SERVICE = `/${TokenService.typeName}/`;

/** Unknown methods carry no marker: grpc-js's UNIMPLEMENTED message quotes the path (a library behaviour, see the README). */
const UNKNOWN_PATHS = [
  `${SERVICE}Nope`,
  `${SERVICE}create`,
  SERVICE,
  `/${TokenService.typeName}`,
  "/",
  "/x",
  `/${SERVICE}Create`,
  `${SERVICE}Create/`,
  "/tokens.v2.TokenService/Create",
  `${SERVICE}${"A".repeat(1500)}`,
];

/** The spec's grpc-timeout: 1 to 8 digits and a unit. */
const TIMEOUT_FORMAT = /^\d{1,8}[HMSmun]$/;

export function grpcCase(random: Random, index: number, context: GrpcContext): GrpcCase {
  let planted = 0;
  const plant = (): string => marker(index * 100 + (planted++ % 100));
  const method = random.chance(0.88) ? random.pick(TokenService.methods) : undefined;
  const path = method === undefined ? random.pick(UNKNOWN_PATHS) : `${SERVICE}${method.name}`;
  const httpMethod = random.weighted<string>([
    [97, "POST"],
    [2, "GET"],
    [1, "PUT"],
  ]);
  const headers: [string, string][] = [];
  const contentType = random.weighted<string | undefined>([
    [80, "application/grpc"],
    [8, "application/grpc+proto"],
    [2, "application/grpc; charset=utf-8"],
    [1, "application/grpc+json"],
    [1, "application/grpcx"],
    [1, "APPLICATION/GRPC"],
    [2, "application/json"],
    [1, "text/plain"],
    [2, undefined],
  ]);
  if (contentType !== undefined) headers.push(["content-type", contentType]);
  if (random.chance(0.95)) headers.push(["te", "trailers"]);
  const authorization = fuzzAuthorization(random, plant);
  if (authorization !== undefined) headers.push(["authorization", authorization]);
  const timeout = random.chance(0.2)
    ? random.weighted<string>([
        [4, random.pick(["20m", "50m", "100m", "1S", "100000u", "50000000n", "0m"])],
        [1, random.pick(["1H", "99999999S", "1M"])],
        // No marker here: grpc-js quotes a malformed grpc-timeout in its INTERNAL message (a library behaviour, see the README).
        [4, random.pick(["1x", "99999999999S", "", "-1S", "1.5S", "S", "1 S", "1s", "abc", "0x10S", "100", "1SS"])],
      ])
    : undefined;
  if (timeout !== undefined) headers.push(["grpc-timeout", timeout]);
  const encoding = random.chance(0.12) ? random.pick(["gzip", "deflate", "identity", "snappy", "GZIP", ""]) : undefined;
  if (encoding !== undefined) headers.push(["grpc-encoding", encoding]);
  if (random.chance(0.2)) headers.push(["x-request-id", random.pick([`req-${index}`, plant(), `a b ${plant()}`, "x".repeat(129), ""])]);
  if (random.chance(0.1)) {
    headers.push(
      random.pick<[string, string]>([
        ["x-custom", plant()],
        ["x-data-bin", random.bytes(12).toString("base64")],
        ["x-bad-bin", `!!${plant()}`],
        ["grpc-accept-encoding", "gzip, snappy"],
        ["user-agent", plant()],
        ["x-padded", ` ${plant()} `],
      ]),
    );
  }
  const kind = method?.methodKind ?? "unary";
  const count =
    kind === "bidi_streaming"
      ? random.int(0, 6)
      : random.weighted<number>([
          [5, 0],
          [85, 1],
          [7, 2],
          [3, 3],
        ]);
  const input = method?.input ?? CreateRequestSchema;
  const messages = Array.from({ length: count }, () => ({
    message: fuzzMessage(random, input, { knownKeys: context.knownKeys, plant }),
    style: random.weighted<FrameStyle>([
      [85, "plain"],
      [2, "flag-1"],
      [2, "gzip"],
      [1, "deflate"],
      [2, "flag-1-junk"],
      [2, "odd-flag"],
      [2, "length-too-long"],
      [2, "length-too-short"],
      [2, "huge-length"],
    ]),
  }));
  const payload = Buffer.concat(messages.map(({ message, style }) => frame(random, message.bytes, style)));
  const ending = random.weighted<Ending>([
    [85, "end"],
    [3, "reset-before-body"],
    [4, "reset-mid-body"],
    [4, "reset-after-body"],
    [4, "end-then-reset"],
  ]);
  // Always CANCEL, as gRPC clients reset a call. On Node 20 a client stream closed with another
  // code (PROTOCOL_ERROR, ENHANCE_YOUR_CALM, …) now and then sends the client's own HTTP/2 session
  // into an endless write loop (std::bad_alloc in this test's process, which hosts the server
  // too); the raw HTTP/2 cases send the server RST_STREAM with every code instead.
  const resetCode = 8;
  const facts = { method, httpMethod, contentType, authorization, timeout, encoding, payload, headers };
  return { index, path, method, httpMethod, headers, messages, payload, ending, resetCode, expectation: expectationOf(facts, context) };
}

/** What a case's expectation depends on. */
export interface GrpcCaseFacts {
  readonly method: DescMethod | undefined;
  readonly httpMethod: string;
  readonly contentType: string | undefined;
  readonly authorization: string | undefined;
  readonly timeout: string | undefined;
  readonly encoding: string | undefined;
  readonly payload: Buffer;
  readonly headers: readonly (readonly [string, string])[];
}

/** The statuses a call with these facts may end with, and how its answer must look. */
export function expectationOf(facts: GrpcCaseFacts, context: Pick<GrpcContext, "secured">): GrpcExpectation {
  const serverMayReset = facts.headers.some(([, value]) => value !== value.trim());
  const type = facts.contentType;
  const transport =
    type === undefined || !type.toLowerCase().startsWith("application/grpc")
      ? "not-grpc"
      : facts.httpMethod !== "POST" || !/^application\/grpc(\+proto)?(;|$)/.test(type)
        ? "either"
        : "grpc";
  const allowed = new Map<number, string>();
  const allow = (code: number, why: string): void => {
    if (!allowed.has(code)) allowed.set(code, why);
  };
  const { method } = facts;
  if (method === undefined) {
    allow(12, "an unknown method");
    return { allowed, transport, serverMayReset, answers: undefined };
  }
  if (facts.timeout !== undefined) {
    allow(4, "a grpc-timeout");
    if (!TIMEOUT_FORMAT.test(facts.timeout)) allow(13, "a malformed grpc-timeout");
  }
  const read = readFrames(facts.payload, MAX_MESSAGE);
  if (read.oversize) allow(8, "a message longer than 64 KiB");
  let good = 0;
  for (const { flag, body } of read.frames) {
    if (flag > 1) allow(13, "a compressed flag other than 0 or 1 (grpc-js reads it as 0)");
    const verdict = frameVerdict(flag, body, facts.encoding, MAX_MESSAGE);
    if (verdict.kind === "status") allow(verdict.code, verdict.why);
    else if (!parses(method.input, verdict.bytes)) allow(13, "a message that does not parse");
    else good += 1;
  }
  const single = method.methodKind === "unary" || method.methodKind === "server_streaming";
  if (single && read.frames.length !== 1) allow(12, `${read.frames.length} request messages on a single-request method (grpc-js answers UNIMPLEMENTED)`);
  if (!single || read.frames.length >= 1) {
    const role = roleOf(facts.authorization);
    if (context.secured && role === undefined) allow(16, "no valid token");
    else if (context.secured && role === "client" && !CLIENT_METHODS.has(method.name)) allow(7, "a client token on an admin method");
    else for (const code of SERVICE_CODES[method.name] ?? []) allow(code, `${method.name}'s own answers`);
  }
  const clean = good === read.frames.length && !read.oversize;
  const answers = method.methodKind === "bidi_streaming" && clean ? good : undefined;
  return { allowed, transport, serverMayReset, answers };
}
