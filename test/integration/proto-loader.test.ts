import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { expect } from "chai";
import { type Harness, startHarness } from "../support/harness";

const ROOT = join(__dirname, "../..");

/** A method of a client made by grpc.loadPackageDefinition: nothing is typed, as for any dynamic client. */
type Dynamic = Record<string, (...args: unknown[]) => unknown>;
type Json = Record<string, unknown>;

/**
 * Many Node services load protos at run time with @grpc/proto-loader instead of
 * generating code. Such a client, made from proto/tokens/v1/tokens.proto alone,
 * calls every RPC, the streams included.
 */
describe("a plain @grpc/proto-loader client", function () {
  this.timeout(20_000);
  let harness: Harness;
  let client: grpc.Client & Dynamic;

  before(async () => {
    harness = await startHarness();
    const definition = loadSync("tokens/v1/tokens.proto", {
      includeDirs: [join(ROOT, "proto"), join(ROOT, "third_party")],
      keepCase: false,
      longs: String,
      enums: String,
      defaults: true,
    });
    const loaded = grpc.loadPackageDefinition(definition) as unknown as { tokens: { v1: { TokenService: grpc.ServiceClientConstructor } } };
    client = new loaded.tokens.v1.TokenService(harness.app.grpcAddress, grpc.credentials.createInsecure()) as unknown as grpc.Client & Dynamic;
  });
  after(async () => {
    client.close();
    await harness.close();
  });

  const unary = (method: string, request: Json): Promise<Json> =>
    new Promise((resolve, reject) => {
      (client[method] as (request: Json, callback: (error: grpc.ServiceError | null, response: Json) => void) => void).call(client, request, (error, response) =>
        error ? reject(error) : resolve(response),
      );
    });

  it("calls every unary RPC, with the v2 fields (uint64 lease as a string, enums by name, durations)", async () => {
    const created = await unary("create", { ttl: { seconds: "600", nanos: 0 } });
    expect(created["keyId"]).to.be.a("string");
    expect(created["ttl"]).to.deep.equal({ seconds: "600", nanos: 0 });
    const keyId = created["keyId"] as string;
    const acquired = await unary("acquire", { blockTtl: { seconds: "30", nanos: 0 } });
    expect(acquired).to.include({ keyId, lease: "1" });
    const got = await unary("get", { keyId });
    expect(got).to.include({ isBlocked: true, state: "LEASED", lease: "1" });
    const kept = await unary("keepAlive", { keyId, lease: "1" });
    expect(kept["releaseAt"]).to.have.property("seconds");
    expect(await unary("stats", {})).to.include({ total: 1, leased: 1 });
    const page = await unary("list", { pageSize: 10 });
    expect((page["keys"] as Json[]).map((key) => key["keyId"])).to.deep.equal([keyId]);
    await unary("release", { keyId, lease: "1", cooldown: { seconds: "5", nanos: 0 } });
    expect(await unary("get", { keyId })).to.include({ state: "COOLING" });
    const refused = await unary("release", { keyId, lease: "99" }).catch((error: grpc.ServiceError) => error);
    expect((refused as grpc.ServiceError).code).to.equal(grpc.status.ABORTED);
    expect(await unary("delete", { keyId })).to.deep.equal({});
  });

  it("renews keys on KeepAliveStream and watches events on Watch", async () => {
    const watch = (client["watch"] as (request: Json) => grpc.ClientReadableStream<Json>).call(client, {}); // from now on
    const events: Json[] = [];
    const gotEvents = new Promise<void>((resolve) =>
      watch.on("data", (event: Json) => {
        events.push(event);
        if (events.length === 2) resolve();
      }),
    );
    watch.on("error", () => undefined); // the cancel below
    await new Promise((resolve) => setTimeout(resolve, 100)); // the watch is open
    const { keyId } = (await unary("create", {})) as { keyId: string };
    const stream = (client["keepAliveStream"] as () => grpc.ClientDuplexStream<Json, Json>).call(client);
    const answers: Json[] = [];
    stream.on("data", (answer: Json) => answers.push(answer));
    const ended = new Promise<void>((resolve) => stream.on("status", () => resolve()));
    stream.write({ keyId });
    stream.write({ keyId: "missing-key" });
    stream.end();
    await ended;
    expect(answers.map((answer) => [answer["keyId"], answer["code"]])).to.deep.equal([
      [keyId, 0],
      ["missing-key", grpc.status.NOT_FOUND],
    ]);
    await gotEvents;
    const first = Number(events[0]?.["revision"]);
    expect(events.map((event) => [event["revision"], event["type"], event["keyId"]])).to.deep.equal([
      [String(first), "CREATED", keyId],
      [String(first + 1), "KEPT_ALIVE", keyId],
    ]);
    watch.cancel();
  });
});
