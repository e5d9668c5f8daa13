import { expect } from "chai";
import { run } from "../support/run";

/**
 * `npm run typecheck` as one test of `npm test`: tsx runs the suites without checking
 * types, so this is where a type error fails the run. A file of its own, so that mocha
 * runs the check in one worker while the others run the rest (it is CPU-bound for seconds).
 */
describe("typecheck", function () {
  this.timeout(180_000);

  it("the whole project type-checks (npm run typecheck: tsc --noEmit)", async () => {
    const result = await run("npm", ["run", "--silent", "typecheck"], { timeoutMs: 170_000 });
    expect(result.code, result.stdout + result.stderr).to.equal(0);
  });
});
