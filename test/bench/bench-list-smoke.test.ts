import { expect } from "chai";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { run } from "../support/run";

/** The List bench at small sizes: full walks on both stores must see every key. No timing is asserted. */
describe("bench:list (smoke)", function () {
  this.timeout(120_000);

  it("walks a pool of 1e3 and 1e4 keys on both stores, seeing every key, and writes its JSON", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bench-list-"));
    try {
      const json = join(dir, "list.json");
      const result = await run(process.execPath, ["--import", "tsx", "bench/list.ts", "--smoke", "--json", json]);
      expect(result.code, result.stderr).to.equal(0);
      for (const store of ["memory", "redis"]) expect(result.stdout).to.match(new RegExp(`^${store}\\s+median page 1e\\+4 ÷ 1e\\+3: \\d`, "m"));
      const figures = JSON.parse(readFileSync(json, "utf8")) as { results: Record<string, { size: number; distinct: number }[]> };
      for (const walks of Object.values(figures.results)) {
        expect(walks.map((w) => [w.size, w.distinct])).to.deep.equal([
          [1e3, 1e3],
          [1e4, 1e4],
        ]);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
