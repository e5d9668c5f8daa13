/**
 * Regression: the sweeper once yielded between slices with an unref'd
 * setImmediate, which does not keep an idle event loop turning, so a backlog
 * larger than one slice was swept only as unrelated traffic woke the loop.
 * The scenario runs in its own process (support/probes/idle-sweep-probe.ts):
 * inside mocha other activity wakes the loop and would hide a stall.
 */
import { expect } from "chai";
import { execFile } from "node:child_process";
import { join } from "node:path";

describe("ExpirySweeper on an idle event loop", () => {
  it("runs all 100 slices of a due backlog within 500 ms on an idle loop", async () => {
    const stdout = await new Promise<string>((resolve, reject) => {
      const probe = join(__dirname, "..", "support", "probes", "idle-sweep-probe.ts");
      execFile(process.execPath, ["--import", "tsx", probe], { timeout: 15_000 }, (error, out) =>
        error ? reject(error) : resolve(out),
      );
    });
    // 100 trivial slices need a few ms when they really yield with setImmediate, and the
    // probe prints as soon as they are done. Observed with the bug: 830 to 980 of 1000
    // deadlines still due when its 500 ms deadline fires.
    expect(JSON.parse(stdout)).to.deep.equal({ left: 0 });
  });
});
