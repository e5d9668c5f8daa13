/**
 * Run as its own process (by test/unit/sweeper-idle.test.ts) so nothing else wakes the event
 * loop: 1000 due deadlines in slices of 10 on Node's real timers, then prints what is left.
 * It prints as soon as the backlog is gone (a few ms when the slices really yield with a
 * ref'd setImmediate), so a pass costs only the process start-up. The one ref'd 500 ms timer
 * is the failure deadline: with a stall, the slices wait for it and it prints what is left.
 */
import { systemClock } from "../../../src/platform/system-clock";
import { ExpirySweeper } from "../../../src/store/memory/sweeper";

let left = 1000;
let reported = false;
function report(): void {
  if (reported) return;
  reported = true;
  clearTimeout(deadline);
  sweeper.stop();
  process.stdout.write(JSON.stringify({ left }));
}

const sweeper = new ExpirySweeper(
  {
    nextDeadline: () => (left > 0 ? Date.now() - 1 : Number.POSITIVE_INFINITY),
    expireDue(budget) {
      const applied = Math.min(budget, left);
      left -= applied;
      if (left === 0) report();
      return applied;
    },
  },
  systemClock,
  { sliceSize: 10 },
);
const deadline = setTimeout(report, 500);
sweeper.poke();
