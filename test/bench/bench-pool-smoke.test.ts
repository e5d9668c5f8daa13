import { expect } from "chai";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { run } from "../support/run";

/** The pool bench at tiny sizes: it must run and print every row. No timing is asserted. Runs under `npm run test:bench`. */
describe("bench:pool (smoke)", function () {
  this.timeout(120_000);

  it("runs, prints every operation and the memory line, and writes its JSON and chart", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bench-pool-"));
    try {
      const json = join(dir, "pool.json");
      const svg = join(dir, "pool.svg");
      const result = await run(process.execPath, ["--expose-gc", "--import", "tsx", "bench/pool.ts", "--smoke", "--json", json, "--svg", svg]);
      expect(result.code, result.stderr).to.equal(0);
      for (const op of ["create", "acquire", "release", "keepAlive", "get", "delete", "expire", "releaseLeaseCool", "acquireCooled", "keepAliveLease", "listPerKey"]) {
        expect(result.stdout).to.match(new RegExp(`^${op}\\s+\\d+`, "m"));
      }
      expect(result.stdout).to.match(/memory: \d+(\.\d+)? bytes\/key/);
      const figures = JSON.parse(readFileSync(json, "utf8")) as { results: { size: number }[]; memory: { bytesPerKey: number } };
      expect(figures.results.map((r) => r.size)).to.deep.equal([1e3, 1e4]);
      expect(figures.memory.bytesPerKey).to.be.greaterThan(0);
      expect(readFileSync(svg, "utf8")).to.match(/^<svg[\s\S]*<\/svg>\n$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
