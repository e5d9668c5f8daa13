import { fromBinary } from "@bufbuild/protobuf";
import { KeepAliveStreamResponseSchema } from "../../../src/generated/tokens/v1/tokens_pb";
import type { GrpcCase } from "./grpc-cases";
import type { GrpcOutcome } from "./grpc-exchange";
import { readFrames } from "./grpc-framing";
import { echoesMarker } from "./markers";

/** gRPC status names, for failure messages. */
export const CODE_NAMES = [
  "OK",
  "CANCELLED",
  "UNKNOWN",
  "INVALID_ARGUMENT",
  "DEADLINE_EXCEEDED",
  "NOT_FOUND",
  "ALREADY_EXISTS",
  "PERMISSION_DENIED",
  "RESOURCE_EXHAUSTED",
  "FAILED_PRECONDITION",
  "ABORTED",
  "OUT_OF_RANGE",
  "UNIMPLEMENTED",
  "INTERNAL",
  "UNAVAILABLE",
  "DATA_LOSS",
  "UNAUTHENTICATED",
] as const;

export const codeName = (code: number): string => CODE_NAMES[code] ?? `code ${code}`;

/**
 * Everything wrong with how one call ended (empty: nothing). Every call the client did
 * not reset ends with a grpc-status on HTTP 200, or with 415 for a content type that is
 * not gRPC; the status is one the case allows (INTERNAL only for an unparsable message,
 * a bad compressed flag or a malformed grpc-timeout); grpc-message never quotes a marker;
 * answers are messages of the method's output type; KeepAliveStream answers every
 * request once.
 */
export function grpcProblems(c: GrpcCase, outcome: GrpcOutcome): string[] {
  const { expectation } = c;
  const httpStatus = Number(outcome.headers?.[":status"]);
  const statusText = fieldText(outcome.trailers?.["grpc-status"] ?? outcome.headers?.["grpc-status"]);
  if (statusText === undefined) {
    if (outcome.resetByClient) return [];
    if (outcome.timedOut) return ["the call did not end within the time allowed"];
    if (expectation.transport !== "grpc" && httpStatus === 415) return [];
    if (expectation.serverMayReset && outcome.headers === undefined && outcome.rstCode !== undefined) return [];
    return [`the call ended without a grpc-status (HTTP ${Number.isNaN(httpStatus) ? "none" : httpStatus}, RST_STREAM ${outcome.rstCode ?? "none"}, error ${outcome.error ?? "none"})`];
  }
  const problems: string[] = [];
  const code = Number(statusText);
  if (httpStatus !== 200) problems.push(`grpc-status ${statusText} on HTTP ${httpStatus}, not 200`);
  if (expectation.transport === "not-grpc") problems.push("a gRPC answer to a content type that is not gRPC (the spec says HTTP 415)");
  if (!expectation.allowed.has(code)) {
    const allowed = [...expectation.allowed].map(([allowedCode, why]) => `${codeName(allowedCode)} (${why})`).join(", ");
    problems.push(`status ${codeName(code)}, where this case allows only ${allowed || "nothing"}`);
  }
  const message = grpcMessage(outcome);
  if (echoesMarker(message)) problems.push(`grpc-message quotes what the caller sent (a marker): ${JSON.stringify(message.slice(0, 200))}`);
  if (code === 0 && c.method !== undefined) problems.push(...answerProblems(c, outcome.data));
  return problems;
}

function answerProblems(c: GrpcCase, data: Buffer): string[] {
  const method = c.method;
  if (method === undefined) return [];
  const read = readFrames(data, Number.MAX_SAFE_INTEGER);
  const problems: string[] = [];
  if (read.partial) problems.push("the answer's last frame is cut short");
  for (const { flag, body } of read.frames) {
    if (flag !== 0) {
      problems.push(`an answer frame with compressed flag ${flag}`);
      continue;
    }
    try {
      fromBinary(method.output, body);
    } catch {
      problems.push(`an answer that is not a ${method.output.typeName}`);
      continue;
    }
    if (method.output.typeName === KeepAliveStreamResponseSchema.typeName) {
      // Its key_id echoes the request by design; its message must not.
      const { message } = fromBinary(KeepAliveStreamResponseSchema, body);
      if (echoesMarker(message)) problems.push(`a KeepAliveStream answer's message quotes what the caller sent: ${JSON.stringify(message.slice(0, 200))}`);
    }
  }
  const single = method.methodKind === "unary";
  if (single && read.frames.length !== 1) problems.push(`${read.frames.length} answers to a unary call`);
  const { answers } = c.expectation;
  if (answers !== undefined && read.frames.length !== answers) problems.push(`${read.frames.length} KeepAliveStream answers to ${answers} requests`);
  return problems;
}

/** grpc-message, percent-decoded as the spec encodes it. */
export function grpcMessage(outcome: GrpcOutcome): string {
  const text = fieldText(outcome.trailers?.["grpc-message"] ?? outcome.headers?.["grpc-message"]) ?? "";
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** A header's value as text (repeated ones joined), or undefined when absent. */
function fieldText(value: string | string[] | number | undefined): string | undefined {
  return value === undefined ? undefined : Array.isArray(value) ? value.join(",") : String(value);
}
