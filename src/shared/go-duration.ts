/**
 * Durations as Go's time.ParseDuration reads them (and so grpc-gateway, in query
 * parameters, and the CLI's options): an optional sign, then one or more decimal
 * numbers with a unit each: "30s", "1500ms", "1m30s", "1.5h", "-2s", "0".
 * Shared by the REST shim and the CLI (pure: no layer of its own).
 */

/** Go's duration syntax (the sign, then number-unit pairs), whatever the size. */
export const GO_DURATION_SYNTAX = /^([+-]?)((?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+$/;

/** The duration in nanoseconds (negative with a "-" sign), exact; undefined when the text is not a Go duration or overflows Go's int64. */
export function parseGoDuration(text: string): bigint | undefined {
  if (text === "0" || text === "+0" || text === "-0") return 0n;
  const match = GO_DURATION_SYNTAX.exec(text);
  if (match === null) return undefined;
  let nanos = 0n;
  for (const part of text.slice(match[1]?.length ?? 0).matchAll(/(\d*)(?:\.(\d*))?(ns|us|µs|μs|ms|s|m|h)/g)) {
    const [, whole = "", fraction = "", unit = "s"] = part;
    const scale = NANOS_PER[unit] as bigint;
    // Exact to the nanosecond: the fraction is scaled as an integer, never as a float.
    const digits = fraction.slice(0, 18);
    nanos += BigInt(whole === "" ? "0" : whole) * scale + (BigInt(digits === "" ? "0" : digits) * scale) / 10n ** BigInt(digits.length);
  }
  if (nanos > MAX_NANOS) return undefined;
  return match[1] === "-" ? -nanos : nanos;
}

/** A Go duration in protojson's form ("90s", "1.5s") for the JSON decoder; undefined when the text is not one. */
export function goDurationToProtoJson(text: string): string | undefined {
  const signed = parseGoDuration(text);
  if (signed === undefined) return undefined;
  const nanos = signed < 0n ? -signed : signed;
  const seconds = nanos / 1_000_000_000n;
  const rest = nanos % 1_000_000_000n;
  return `${signed < 0n ? "-" : ""}${seconds}${rest === 0n ? "" : `.${rest.toString().padStart(9, "0").replace(/0+$/, "")}`}s`;
}

const NANOS_PER: Readonly<Record<string, bigint>> = {
  ns: 1n,
  us: 1_000n,
  µs: 1_000n,
  μs: 1_000n,
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

/** Go's limit: an int64 of nanoseconds (about 290 years). */
const MAX_NANOS = 2n ** 63n - 1n;
