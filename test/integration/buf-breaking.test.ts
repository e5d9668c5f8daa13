import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { BUF, ROOT, run, type RunResult } from "../support/run";

/**
 * "The proto changes are additive, and `buf breaking` (FILE rules) against the v1
 * proto passes." The v1 side is the committed copy test/fixtures/proto-v1, built in a
 * temp workspace of the same layout as ours (proto/ and the vendored third_party/), so
 * buf pairs the two `proto` modules and compares tokens/v1/tokens.proto file by file.
 * Then the check is shown to bite: a copy of today's proto with a field renumbered,
 * or removed, fails it.
 */

interface BreakingIssue {
  readonly path: string;
  readonly type: string;
  readonly message: string;
}

const TOKENS = join("proto", "tokens", "v1", "tokens.proto");

describe("buf breaking against the v1 proto (FILE rules)", function () {
  this.timeout(30_000);
  let dir: string;
  let v1: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), "tokens-buf-breaking-"));
    v1 = join(dir, "v1");
    mkdirSync(join(v1, "proto", "tokens", "v1"), { recursive: true });
    cpSync(join(ROOT, "test", "fixtures", "proto-v1", "tokens", "v1", "tokens.proto"), join(v1, TOKENS));
    // What v1 imports: google/api/annotations.proto (and its http.proto), timestamp.proto.
    cpSync(join(ROOT, "third_party", "google", "api"), join(v1, "third_party", "google", "api"), { recursive: true });
    mkdirSync(join(v1, "third_party", "google", "protobuf"), { recursive: true });
    cpSync(join(ROOT, "third_party", "google", "protobuf", "timestamp.proto"), join(v1, "third_party", "google", "protobuf", "timestamp.proto"));
    writeFileSync(
      join(v1, "buf.yaml"),
      ["version: v2", "modules:", "  - path: proto", "    breaking:", "      use:", "        - FILE", "  - path: third_party", ""].join("\n"),
    );
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const breaking = (workspace: string): Promise<RunResult> => run(BUF, ["breaking", "--against", v1, "--error-format", "json"], { cwd: workspace });

  const issues = (result: RunResult): BreakingIssue[] =>
    result.stdout
      .split("\n")
      .filter((line) => line.trim() !== "")
      .map((line) => JSON.parse(line) as BreakingIssue);

  /** A copy of today's workspace (buf.yaml, proto/, third_party/) with tokens.proto rewritten. */
  function changedCopy(name: string, change: (proto: string) => string): string {
    const workspace = join(dir, name);
    for (const part of ["buf.yaml", "proto", "third_party"]) cpSync(join(ROOT, part), join(workspace, part), { recursive: true });
    const original = readFileSync(join(ROOT, TOKENS), "utf8");
    const changed = change(original);
    expect(changed, "the change applies").to.not.equal(original);
    writeFileSync(join(workspace, TOKENS), changed);
    return workspace;
  }

  it("the current proto/ passes against v1 (exit 0, no issue)", async () => {
    const result = await breaking(ROOT);
    expect(result.code, result.stdout + result.stderr).to.equal(0);
    expect(issues(result)).to.deep.equal([]);
  });

  it("a field renumbered fails the check", async () => {
    const workspace = changedCopy("renumbered", (proto) => proto.replace("bool is_blocked = 1;", "bool is_blocked = 9;"));
    const result = await breaking(workspace);
    expect(result.code, `buf exits 100 for breaking changes (not 1, a build failure): ${result.stderr}`).to.equal(100);
    const found = issues(result);
    expect(found.map((issue) => issue.path)).to.include("proto/tokens/v1/tokens.proto");
    expect(found.map((issue) => issue.type)).to.include("FIELD_NO_DELETE");
    expect(found.map((issue) => issue.message).join("\n")).to.contain("is_blocked");
  });

  it("a field removed fails the check", async () => {
    const workspace = changedCopy("removed", (proto) => proto.replace(/(message DeleteRequest \{)\s*string key_id = 1;/, "$1"));
    const result = await breaking(workspace);
    expect(result.code, `buf exits 100 for breaking changes (not 1, a build failure): ${result.stderr}`).to.equal(100);
    const deleted = issues(result).filter((issue) => issue.type === "FIELD_NO_DELETE");
    expect(deleted.map((issue) => issue.path)).to.deep.equal(["proto/tokens/v1/tokens.proto"]);
    expect(deleted[0]?.message).to.contain('"key_id"').and.contain('"DeleteRequest"');
  });
});
