import { readFileSync } from "node:fs";

/**
 * This process's soft limit on open files (`ulimit -n`), which child processes inherit;
 * undefined where /proc is not there. Each slow connection costs the attacker one
 * descriptor and the server one.
 */
export function openFileLimit(): number | undefined {
  try {
    const line = readFileSync("/proc/self/limits", "utf8")
      .split("\n")
      .find((l) => l.startsWith("Max open files"));
    const soft = line?.split(/\s{2,}/)[1];
    return soft === undefined || soft === "unlimited" ? Number.POSITIVE_INFINITY : Number(soft);
  } catch {
    return undefined;
  }
}
