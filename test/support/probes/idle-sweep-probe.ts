/**
 * Run as its own process (by test/unit/sweeper-idle.test.ts) so nothing else wakes the event
 * loop: 1000 due deadlines, slices of 10, one 500 ms timer, then prints what is left.
 */
import { systemClock } from "../../../src/platform/system-clock";
import { ExpirySweeper } from "../../../src/store/memory/sweeper";

let left = 1000;
const sweeper = new ExpirySweeper(
  {
    nextDeadline: () => (left > 0 ? Date.now() - 1 : Number.POSITIVE_INFINITY),
    expireDue(budget) {
      const applied = Math.min(budget, left);
      left -= applied;
      return applied;
    },
  },
  systemClock,
  { sliceSize: 10 },
);
sweeper.poke();
setTimeout(() => {
  sweeper.stop();
  process.stdout.write(JSON.stringify({ left }));
}, 500);
