import { expect } from "chai";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { BIN, ROOT, run } from "../support/run";

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

describe("toolchain", function () {
  this.timeout(120_000);

  it("committed generated code is what `npm run generate` produces now", async () => {
    const out = mkdtempSync(join(tmpdir(), "tokens-gen-"));
    try {
      const result = await run(BIN("tsx"), ["scripts/generate.ts", "--out", out]);
      expect(result.code, result.stderr).to.equal(0);
      const fresh = filesUnder(out).map((file) => relative(out, file)).sort();
      const committed = [...filesUnder(join(ROOT, "clients", "generated")), ...filesUnder(join(ROOT, "src", "generated"))]
        .map((file) => relative(ROOT, file))
        .sort();
      expect(committed).to.deep.equal(fresh);
      for (const file of fresh) {
        expect(readFileSync(join(ROOT, file), "utf8"), `${file} is stale: run npm run generate`).to.equal(
          readFileSync(join(out, file), "utf8"),
        );
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it("buf lint passes (STANDARD rules on proto/)", async () => {
    const result = await run(BIN("buf"), ["lint"]);
    expect(result.code, result.stdout + result.stderr).to.equal(0);
  });

  it("the core stays pure and nothing imports in a circle", async () => {
    const result = await run(BIN("depcruise"), ["src", "clients", "--config", ".dependency-cruiser.cjs"]);
    expect(result.code, result.stdout + result.stderr).to.equal(0);
  });

  it("the architecture check does catch a core module importing a transport", async () => {
    const result = await run(BIN("depcruise"), ["test/fixtures/architecture/src", "--config", ".dependency-cruiser.cjs"]);
    expect(result.code, "depcruise exits with the number of violations").to.equal(1);
    expect(result.stdout).to.contain("core-is-pure");
  });
});
