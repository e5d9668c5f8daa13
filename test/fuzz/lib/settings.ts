/**
 * How long the fuzz runs and from which seed, from the environment (mocha passes no
 * flags to tests): FUZZ_SEED (a whole number, or `random` for a new one), FUZZ_CASES
 * (cases per generator per server), FUZZ_CASE (run only that case index: a failure's replay).
 */
export interface FuzzSettings {
  readonly seed: number;
  /** Cases each generator sends to each server. */
  readonly cases: number;
  /** When set, only this case index runs (every generator, every server). */
  readonly only: number | undefined;
}

/** The default seed: a fixed one, so `npm run test:fuzz` sends the same requests on every run. */
export const DEFAULT_SEED = 9_060_006;
/** Cases per generator per server in the default run (about 30 s on a busy two-core machine). */
export const DEFAULT_CASES = 5000;

type Env = Readonly<Record<string, string | undefined>>;

export function fuzzSettings(env: Env = process.env, randomSeed: () => number = () => Math.floor(Math.random() * 2 ** 32)): FuzzSettings {
  return {
    seed: seedOf(env["FUZZ_SEED"], randomSeed),
    cases: wholeNumber("FUZZ_CASES", env["FUZZ_CASES"], DEFAULT_CASES, 1),
    only: env["FUZZ_CASE"] === undefined || env["FUZZ_CASE"] === "" ? undefined : wholeNumber("FUZZ_CASE", env["FUZZ_CASE"], 0, 0),
  };
}

/** The indexes a generator runs under these settings. */
export function caseIndexes(settings: FuzzSettings, count: number): number[] {
  if (settings.only !== undefined) return settings.only < count ? [settings.only] : [];
  return Array.from({ length: count }, (_, i) => i);
}

/** How to run exactly this seed (and case) again: printed with every failure. */
export function replayLine(settings: FuzzSettings, index?: number): string {
  return `FUZZ_SEED=${settings.seed} FUZZ_CASES=${settings.cases}${index === undefined ? "" : ` FUZZ_CASE=${index}`} npm run test:fuzz`;
}

function seedOf(text: string | undefined, randomSeed: () => number): number {
  if (text === undefined || text === "") return DEFAULT_SEED;
  if (text === "random") return randomSeed() >>> 0;
  return wholeNumber("FUZZ_SEED", text, 0, 0, 2 ** 32 - 1);
}

function wholeNumber(name: string, text: string | undefined, fallback: number, min: number, max = 10_000_000): number {
  if (text === undefined || text === "") return fallback;
  const value = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) throw new Error(`${name}=${JSON.stringify(text)}: expected a whole number from ${min} to ${max}`);
  return value;
}
