/** What a process has spent of the CPU, from Linux's /proc: the benches' cost-per-call figures. */
import { readFileSync } from "node:fs";

/** USER_HZ: 100 on every Linux this runs on (getconf CLK_TCK). */
const CLOCK_TICKS = 100;

/** User + system CPU seconds a process has used (Linux /proc; clock ticks of 1/100 s). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" "); // after "pid (comm) ": state, ppid, …
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}
