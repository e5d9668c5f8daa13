import type { GrpcCase } from "./grpc-cases";
import type { Fields, GrpcOutcome } from "./grpc-exchange";
import type { RestCase } from "./rest-cases";
import type { RestOutcome } from "./rest-exchange";
import { preview } from "./rest-check";

/** A value for a failure message: escaped, long ones cut with their length. */
export function escaped(text: string, max = 200): string {
  return text.length > max ? `${JSON.stringify(text.slice(0, max))}… (${text.length} chars)` : JSON.stringify(text);
}

/** The first bytes in hex, for binary bodies and frames. */
export function hex(bytes: Uint8Array, max = 96): string {
  const shown = Buffer.from(bytes.subarray(0, max)).toString("hex");
  return bytes.length > max ? `${shown}… (${bytes.length} bytes)` : shown || "(empty)";
}

export function describeRestCase(c: RestCase): string {
  if (c.raw) return `raw bytes ${preview(c.bytes)} hex ${hex(c.bytes)}`;
  const headers = c.headers.map(([name, value]) => `${escaped(name, 60)}: ${escaped(value, 120)}`).join(", ");
  return [
    `${escaped(c.method, 60)} ${escaped(c.target)} ${escaped(c.version, 20)}`,
    `headers [${headers}]`,
    `body (${c.framing}${c.halfClose ? ", then half-closed" : ""}${c.nodeStalls ? ", one Node's parser holds" : ""}) ${escaped(c.body.toString("latin1"), 160)} hex ${hex(c.body, 48)}`,
  ].join("\n    ");
}

export function describeRestOutcome(outcome: RestOutcome): string {
  switch (outcome.kind) {
    case "answered": {
      const { response } = outcome;
      const headers = response.headers.map(([name, value]) => `${name}: ${escaped(value, 100)}`).join(", ");
      return `${response.status} ${response.reason} [${headers}] body ${preview(response.body)}`;
    }
    case "closed-silently":
      return "the connection closed, nothing received";
    case "malformed":
      return `malformed: ${outcome.reason}: ${preview(outcome.received)}`;
    case "no-answer":
      return `no answer; received ${preview(outcome.received)}`;
  }
}

export function describeGrpcCase(c: GrpcCase): string {
  const headers = c.headers.map(([name, value]) => `${name}: ${escaped(value, 120)}`).join(", ");
  const messages = c.messages.map(({ message, style }, i) => `#${i} ${style}${message.mutations.length > 0 ? ` after ${message.mutations.join(" + ")}` : ""}: ${hex(message.bytes, 48)}`);
  return [
    `${c.httpMethod} ${escaped(c.path, 120)}, ending ${c.ending}${c.ending === "end" ? "" : ` (RST_STREAM ${c.resetCode})`}`,
    `headers [${headers}]`,
    `messages (${c.messages.length}) ${messages.join("; ") || "none"}`,
    `DATA ${hex(c.payload)}`,
  ].join("\n    ");
}

export function describeGrpcOutcome(outcome: GrpcOutcome): string {
  const pick = (headers: Fields | undefined): string =>
    headers === undefined ? "none" : Object.entries(headers).map(([name, value]) => `${name}: ${escaped(String(value), 100)}`).join(", ");
  return `headers [${pick(outcome.headers)}] trailers [${pick(outcome.trailers)}] data ${hex(outcome.data, 48)}${outcome.resetByClient ? ", reset by the client" : ""}${outcome.rstCode === undefined ? "" : `, RST_STREAM ${outcome.rstCode}`}${outcome.error === undefined ? "" : `, error ${outcome.error}`}`;
}
