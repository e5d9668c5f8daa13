import { expect } from "chai";
import { createTokenClient } from "../../clients";
import { buildFirst, SERVICE_MAIN } from "../support/build";
import { startServiceProcess } from "../support/process";
import { ROOT, run } from "../support/run";

describe("the service process", function () {
  this.timeout(60_000);
  buildFirst();

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

  // One real refusal proves main.ts turns a ConfigError into one stderr line and exit 1;
  // every other bad value is covered in process by test/unit/config.test.ts.
  it("refuses to start on KEY_TTL=5 (no unit) with exit 1 and one stderr line naming the variable", async () => {
    const result = await run(process.execPath, [SERVICE_MAIN], {
      cwd: ROOT,
      env: { ...process.env, KEY_TTL: "5", GRPC_PORT: "0", PORT: "0" },
    });
    expect(result.code).to.equal(1);
    expect(result.stdout).to.equal("");
    const lines = result.stderr.trim().split("\n");
    expect(lines).to.have.length(1);
    expect(lines[0]).to.contain('KEY_TTL="5"');
  });
});
