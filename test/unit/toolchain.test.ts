import { expect } from "chai";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { BIN, BUF, ROOT, run } from "../support/run";

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
      const result = await run(process.execPath, ["--import", "tsx", "scripts/generate.ts", "--out", out]);
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
    const result = await run(BUF, ["lint"]);
    expect(result.code, result.stdout + result.stderr).to.equal(0);
  });

  // One dependency-cruiser run for both (its start-up, TypeScript's JavaScript API, is most of
  // its time): the fixture's planted violation proves the rules can fail, and it must be the
  // only violation, so src/ and clients/ have none.
  it("the core stays pure and nothing imports in a circle; the check does catch a core module importing a transport", async () => {
    const result = await run(BIN("depcruise"), ["src", "clients", "test/fixtures/architecture/src", "--config", ".dependency-cruiser.cjs"]);
    const violations = [...result.stdout.matchAll(/^\s*(error|warn|info) (\S+): (\S+)/gm)].map(([, severity, rule, from]) => ({ severity, rule, from }));
    expect(violations, result.stdout + result.stderr).to.deep.equal([
      { severity: "error", rule: "core-is-pure", from: "test/fixtures/architecture/src/core/impure.ts" },
    ]);
    expect(result.code, "depcruise exits with the number of errors").to.equal(1);
  });
});
