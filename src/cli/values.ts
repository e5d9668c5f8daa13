import { KeyState } from "../../clients";
import type { Duration } from "../../clients/generated/google/protobuf/duration";
import { GO_DURATION_SYNTAX, parseGoDuration } from "../shared/go-duration";
import { UsageError } from "./errors";

/**
 * Option values from their command-line text. Each throws a UsageError naming the
 * option, so a bad value is caught before anything is sent.
 */

const NANOS_PER_SECOND = 1_000_000_000n;

/**
 * A duration written as Go's time.ParseDuration reads it (`600s`, `1.5s`, `250ms`,
 * `1m30s`, `0`), the same grammar REST query parameters take, as a
 * google.protobuf.Duration. Exact to the nanosecond (no float arithmetic). A sign is
 * refused: no option of the API takes a negative duration.
 */
export function parseDuration(option: string, text: string): Duration {
  if (/^[+-]/.test(text)) throw new UsageError(`--${option}: ${JSON.stringify(text)}: write a duration without a sign (none of these may be negative)`);
  const nanos = parseGoDuration(text);
  if (nanos === undefined) {
    if (GO_DURATION_SYNTAX.test(text)) throw new UsageError(`--${option}: ${JSON.stringify(text)} is too long`);
    throw new UsageError(`--${option}: ${JSON.stringify(text)} is not a duration (examples: 600s, 1.5s, 250ms, 1m30s)`);
  }
  return { seconds: Number(nanos / NANOS_PER_SECOND), nanos: Number(nanos % NANOS_PER_SECOND) };
}

/** A duration as milliseconds, rounded up (a deadline is never shorter than asked). */
export function durationMs(duration: Duration): number {
  return duration.seconds * 1000 + Math.ceil(duration.nanos / 1_000_000);
}

/**
 * A whole number in [0, max], decimal digits only. `max` is at most
 * Number.MAX_SAFE_INTEGER: the generated client holds 64-bit fields as numbers.
 */
export function parseWholeNumber(option: string, text: string, max: number = Number.MAX_SAFE_INTEGER): number {
  const value = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value) || value > max) {
    throw new UsageError(`--${option}: ${JSON.stringify(text)} is not a whole number from 0 to ${max}`);
  }
  return value;
}

const STATES: Readonly<Record<string, KeyState>> = { AVAILABLE: KeyState.AVAILABLE, LEASED: KeyState.LEASED, COOLING: KeyState.COOLING };

/** A key state by its proto name, in any letter case (`leased` is as good as `LEASED`). */
export function parseKeyState(option: string, text: string): KeyState {
  const state = STATES[text.toUpperCase()];
  if (state === undefined) throw new UsageError(`--${option}: ${JSON.stringify(text)} is not one of ${Object.keys(STATES).join(", ")}`);
  return state;
}
