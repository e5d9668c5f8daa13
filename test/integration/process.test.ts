import { expect } from "chai";
import { createTokenClient } from "../../clients";
import { ROOT, run } from "../support/run";
import { startServiceProcess } from "../support/process";

describe("the service process", function () {
  this.timeout(60_000);

  it("logs one start-up line naming its addresses, serves, and exits 0 on SIGTERM", async () => {
    const service = await startServiceProcess({});
    const client = createTokenClient(service.grpcAddress);
    try {
      const { keyId } = await client.create({});
      expect((await client.get({ keyId })).isBlocked).to.equal(false);
    } finally {
      client.close();
    }
    service.child.kill("SIGTERM");
    expect(await service.exited).to.equal(0);
    expect(service.lines.join("\n")).to.contain("shutting down");
  });

  it("exits 0 on SIGINT too", async () => {
    const service = await startServiceProcess({});
    service.child.kill("SIGINT");
    expect(await service.exited).to.equal(0);
  });

  for (const [name, value] of [
    ["KEY_TTL", "5"],
    ["BLOCK_TTL", "-1s"],
    ["GRPC_PORT", "70000"],
    ["PORT", "http"],
    ["STORE", "postgres"],
    ["REDIS_URL", "localhost:6379"],
  ] as const) {
    it(`refuses to start on ${name}=${value} with one line naming the variable`, async () => {
      const result = await run(process.execPath, ["--import", "tsx", "src/main.ts"], {
        cwd: ROOT,
        env: { ...process.env, [name]: value, GRPC_PORT: name === "GRPC_PORT" ? value : "0", PORT: name === "PORT" ? value : "0" },
      });
      expect(result.code).to.equal(1);
      const lines = result.stderr.trim().split("\n");
      expect(lines).to.have.length(1);
      expect(lines[0]).to.contain(name);
    });
  }
});
