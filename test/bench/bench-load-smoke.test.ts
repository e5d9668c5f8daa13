import { expect } from "chai";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { run } from "../support/run";

// The load bench's smoke form (tiny pool, half-second runs), so the bench cannot rot.
// It takes tens of seconds, so it runs under `npm run test:bench` (and .ci/run), not `npm test`.
// It asserts that every part ran and printed its rows, never a figure: benchmarks are not tests.
// Needs h2load (Debian nghttp2-client), wrk, redis-server and redis-benchmark; without them the bench fails loudly.
describe("bench:load --smoke", function () {
  this.timeout(180_000);

  it("builds, loads the service and the baselines, runs the storm and the Redis store, and prints every row", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tokens-bench-smoke-"));
    try {
      const json = join(dir, "load.json");
      const result = await run(process.execPath, ["--import", "tsx", "bench/load/main.ts", "--smoke", "--json", json], { timeoutMs: 170_000 });
      expect(result.code, result.stdout + result.stderr).to.equal(0);
      const lines = result.stdout.split("\n");
      const row = (workload: string, transport: string): boolean => lines.some((line) => new RegExp(`^${workload.replace("+", "\\+")}\\s+${transport}\\s+\\d`).test(line));
      for (const workload of ["Acquire+Release", "Get", "KeepAlive", "Create"]) expect(row(workload, "gRPC"), `gRPC ${workload} row`).to.equal(true);
      for (const workload of ["Acquire+Release", "Get", "KeepAlive", "Create+Delete"]) expect(row(workload, "REST"), `REST ${workload} row`).to.equal(true);
      expect(result.stdout).to.match(/target gRPC ≥ 0\.90 of bare grpc-js/);
      expect(result.stdout).to.match(/target REST ≥ 0\.60 of bare node:http: .*; worst CPU ratio /);
      expect(result.stdout).to.match(/^Get\s+REST\s.*\s[\d.]+\/[\d.]+\s+[\d.]+\s+bare node:http/m); // CPU µs per call of both sides, and their ratio
      expect(result.stdout).to.match(/target REST ≥ 0\.90 of bare Express/);
      expect(result.stdout).to.match(/target p99 during ≤ 2 × before/);
      expect(result.stdout).to.match(/target Redis: no command over 50 ms/);
      for (const store of ["memory", "redis"]) {
        for (const kind of ["expiry", "release", "capacity"]) {
          expect(lines.some((line) => new RegExp(`^${store}\\s+${kind}\\s+\\d+`).test(line)), `${store} ${kind} storm row`).to.equal(true);
        }
      }
      for (const workload of ["Acquire+Release", "Get", "KeepAlive", "Create"]) {
        expect(lines.some((line) => new RegExp(`^${workload.replace("+", "\\+")}\\s+\\d+\\s+[\\d.]+\\s+\\d+`).test(line)), `Redis ${workload} row`).to.equal(true);
      }
      expect(result.stdout).to.match(/redis-benchmark EVALSHA .*: \d+ req\/s/);
      const report = JSON.parse(readFileSync(json, "utf8")) as {
        memory: unknown[];
        storm: { store: string; kind: string; runs: unknown[] }[];
        redis: { rows: unknown[] };
      };
      expect(report.memory).to.have.length(8);
      expect(report.storm.map((storm) => `${storm.store} ${storm.kind} ${storm.runs.length}`)).to.deep.equal([
        "memory expiry 1",
        "memory release 1",
        "memory capacity 1",
        "redis expiry 1",
        "redis release 1",
        "redis capacity 1",
      ]);
      expect(report.redis.rows).to.have.length(4);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("--auth: the service checks bearer tokens and every request of every row carries one", async () => {
    const result = await run(process.execPath, ["--import", "tsx", "bench/load/main.ts", "--smoke", "--section", "memory", "--auth"], { timeoutMs: 170_000 });
    expect(result.code, result.stdout + result.stderr).to.equal(0);
    expect(result.stdout).to.match(/^bench:load --smoke --auth /m);
    for (const workload of ["Acquire+Release", "Get", "KeepAlive", "Create"]) expect(result.stdout).to.match(new RegExp(`^${workload.replace("+", "\\+")}\\s+gRPC\\s+\\d`, "m"));
    for (const workload of ["Acquire+Release", "Get", "KeepAlive", "Create+Delete"]) expect(result.stdout).to.match(new RegExp(`^${workload.replace("+", "\\+")}\\s+REST\\s+\\d`, "m"));
  });
});
