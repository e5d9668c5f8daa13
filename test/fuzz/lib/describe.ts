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
    `body (${c.framing}${c.halfClose ? ", then half-closed" : ""}) ${escaped(c.body.toString("latin1"), 160)} hex ${hex(c.body, 48)}`,
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
