import { expect } from "chai";
import { startHarness, type Harness } from "../support/harness";
import { ManualClock } from "../support/manual-clock";
import { BUF, run } from "../support/run";

/** `buf curl` is a Go client: it proves reflection serves descriptors that real tools accept. */
describe("buf curl through reflection against the running service", function () {
  this.timeout(60_000);
  const clock = new ManualClock(Date.UTC(2026, 10, 25, 14, 3, 7, 123));
  let h: Harness;

  before(async () => {
    h = await startHarness({ clock });
  });
  after(() => h.close());

  const curl = async (method: string, body: string): Promise<unknown> => {
    const url = `http://${h.app.grpcAddress}/${method}`;
    const result = await run(BUF, ["curl", "--protocol", "grpc", "--http2-prior-knowledge", url, "-d", body]);
    expect(result.code, result.stderr).to.equal(0);
    return JSON.parse(result.stdout) as unknown;
  };

  it("lists every service", async () => {
    const result = await run(BUF, ["curl", "--protocol", "grpc", "--http2-prior-knowledge", "--list-services", `http://${h.app.grpcAddress}`]);
    expect(result.stdout.trim().split("\n").sort()).to.deep.equal([
      "grpc.health.v1.Health",
      "grpc.reflection.v1.ServerReflection",
      "grpc.reflection.v1alpha.ServerReflection",
      "tokens.v1.TokenService",
    ]);
  });

  it("calls every TokenService method, Get with its timestamps", async () => {
    const { keyId } = (await curl("tokens.v1.TokenService/Create", "{}")) as { keyId: string };
    // buf curl writes protojson without defaults; the lease, a uint64, as a string.
    expect(await curl("tokens.v1.TokenService/Acquire", "{}")).to.deep.equal({ keyId, releaseAt: "2026-11-25T14:04:07.123Z", lease: "1" });
    expect(await curl("tokens.v1.TokenService/Get", JSON.stringify({ keyId }))).to.deep.equal({
      isBlocked: true,
      blockedAt: "2026-11-25T14:03:07.123Z",
      createdAt: "2026-11-25T14:03:07.123Z",
      expiresAt: "2026-11-25T14:08:07.123Z",
      releaseAt: "2026-11-25T14:04:07.123Z",
      state: "LEASED",
      ttl: "300s",
      lease: "1",
    });
    expect(await curl("tokens.v1.TokenService/KeepAlive", JSON.stringify({ keyId, lease: "1" }))).to.deep.equal({
      expiresAt: "2026-11-25T14:08:07.123Z",
      releaseAt: "2026-11-25T14:04:07.123Z",
    });
    expect(await curl("tokens.v1.TokenService/Stats", "{}")).to.deep.equal({ total: 1, leased: 1 });
    expect(await curl("tokens.v1.TokenService/Release", JSON.stringify({ keyId }))).to.deep.equal({});
    expect(await curl("tokens.v1.TokenService/Delete", JSON.stringify({ keyId }))).to.deep.equal({});
  });

  it("reports health for the server and for tokens.v1.TokenService", async () => {
    expect(await curl("grpc.health.v1.Health/Check", "{}")).to.deep.equal({ status: "SERVING" });
    expect(await curl("grpc.health.v1.Health/Check", '{"service":"tokens.v1.TokenService"}')).to.deep.equal({ status: "SERVING" });
  });
});
