/**
 * KNOWN BUG (src/store/memory/sweeper.ts, the `setImmediate(...).unref()` between
 * slices). Deliberately not named *.test.ts so the default run stays green; run it
 * with:  npx mocha test/known-bugs/sweeper-idle-stall.ts
 *
 * An unref'd Immediate does not keep libuv's idle handle running, so the event
 * loop blocks in its poll phase instead of running the next slice. On an otherwise
 * idle loop each slice waits for some unrelated event (a timer, a request), and a
 * storm of expiries larger than one slice is swept only as traffic wakes the loop.
 * Callers still see correct answers (reads apply deadlines lazily), but memory
 * is not reclaimed. sweeper.test.ts cannot see this: its 10 ms polling wakes the loop.
 *
 * The scenario runs in its own process (idle-sweep-probe.ts): inside mocha's
 * worker other activity sometimes wakes the loop and hides the stall.
 */
import { expect } from "chai";
import { execFile } from "node:child_process";
import { join } from "node:path";

describe("KNOWN BUG: ExpirySweeper stalls between slices on an idle event loop", () => {
  it("runs all 100 slices of a due backlog within 500 ms on an idle loop", async () => {
    const stdout = await new Promise<string>((resolve, reject) => {
      const probe = join(__dirname, "idle-sweep-probe.ts");
      execFile(process.execPath, ["--import", "tsx", probe], { timeout: 15_000 }, (error, out) =>
        error ? reject(error) : resolve(out),
      );
    });
    // 100 trivial slices need a few ms when they really yield with setImmediate.
    // Observed with the bug: 960 to 980 of 1000 deadlines still due.
    expect(JSON.parse(stdout)).to.deep.equal({ left: 0 });
  });
});
