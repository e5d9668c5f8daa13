import { expect } from "chai";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { run } from "../support/run";

// The slowloris bench's smoke form (100 slow connections a port, a few seconds), so the bench cannot rot.
// It asserts that every part ran and printed its rows, never a figure: benchmarks are not tests.
describe("bench:slowloris --smoke", function () {
  this.timeout(120_000);

  it("attacks both ports, probes /healthz before and during, and prints every row and the verdict", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bench-slowloris-"));
    try {
      const json = join(dir, "slowloris.json");
      const result = await run(process.execPath, ["--import", "tsx", "bench/slowloris.ts", "--smoke", "--json", json], { timeoutMs: 110_000 });
      expect(result.code, result.stdout + result.stderr).to.equal(0);
      for (const phase of ["before", "during"]) {
        for (const kind of ["fresh", "keep-alive"]) expect(result.stdout, `${phase} ${kind} row`).to.match(new RegExp(`^${phase} ${kind}\\s+[\\d.]+\\s+[\\d.]+\\s+[\\d.]+\\s+\\d+\\s+\\d+$`, "m"));
      }
      for (const port of ["REST", "gRPC"]) expect(result.stdout, `${port} row`).to.match(new RegExp(`^${port}\\s+\\d+\\s+\\d+\\s+\\d+\\s+\\d+\\s+\\d+`, "m"));
      expect(result.stdout).to.match(/^service open fds: \d+ before, \d+ with the attack up/m);
      expect(result.stdout).to.match(/^target: max \/healthz during the attack ≤ 100 ms, no probe failed: .* — (met|NOT MET)$/m);
      const report = JSON.parse(readFileSync(json, "utf8")) as { smoke: boolean; attack: { port: string }[]; healthzMs: Record<string, unknown> };
      expect(report.smoke).to.equal(true);
      expect(report.attack.map((port) => port.port)).to.deep.equal(["rest", "grpc"]);
      expect(Object.keys(report.healthzMs)).to.deep.equal(["before", "during"]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
