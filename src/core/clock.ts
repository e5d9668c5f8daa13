/**
 * The core's only source of time: milliseconds since the Unix epoch.
 * Production passes the system clock; tests pass a manual one and move it by hand.
 */
export interface Clock {
  now(): number;
}
