import { expect } from "chai";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { run } from "../support/run";

/** The waiting-acquire bench, a few rounds: it must run on both stores and print every row. No timing is asserted. */
describe("bench:wake (smoke)", function () {
  this.timeout(120_000);

  it("runs on the memory store and on two Redis instances, prints every row and writes its JSON", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bench-wake-"));
    try {
      const json = join(dir, "wake.json");
      const result = await run(process.execPath, ["--import", "tsx", "bench/wake.ts", "--smoke", "--json", json]);
      expect(result.code, result.stderr).to.equal(0);
      expect(result.stdout).to.match(/^memory$/m).and.match(/^redis, waiter on A, freed on B$/m);
      for (const row of ["release\\+acquire \\(polling's best\\)", "release → waiter", "hold end → waiter"]) {
        expect(result.stdout.match(new RegExp(`^  ${row}\\s+\\d`, "gm")), row).to.have.length(2);
      }
      const figures = JSON.parse(readFileSync(json, "utf8")) as { results: Record<string, Record<string, { p50: number }>> };
      expect(Object.keys(figures.results)).to.deep.equal(["memory", "redis, waiter on A, freed on B"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
