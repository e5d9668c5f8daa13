import type { Clock } from "../core/clock";

/** The wall clock, for production. The only place outside tests that reads the time for the rules. */
export const systemClock: Clock = { now: () => Date.now() };
