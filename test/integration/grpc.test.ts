import { connect } from "node:http2";
import { Client, credentials, type ServiceError as GrpcServiceError } from "@grpc/grpc-js";
import { expect } from "chai";
import { Code, type KeepAliveStreamResponse, KeyState, type ServiceError } from "../../clients";
import { DomainError } from "../../src/core/errors";
import { MemoryStore } from "../../src/store/memory/memory-store";
import type { KeyStore } from "../../src/store/port";
import { startHarness, type Harness } from "../support/harness";
import { ManualClock } from "../support/manual-clock";
import { codeOf } from "../support/grpc-code";
import { grpcMessage } from "../support/raw-http2";

const SECOND = 1000;

describe("gRPC TokenService over a real socket (manual clock)", () => {
  const clock = new ManualClock();
  let h: Harness;

  beforeEach(async () => {
    clock.set(Date.UTC(2026, 10, 25, 14, 3, 7, 123));
    h = await startHarness({ clock, env: { KEY_TTL: "5m", BLOCK_TTL: "60s", MAX_KEYS: "3" } });
  });
  afterEach(() => h.close());

  it("creates a key with created_at = now and expires_at = now + KEY_TTL", async () => {
    const { keyId } = await h.client.create({});
    expect(keyId).to.match(/^[A-Za-z0-9_-]{22,}$/);
    const state = await h.client.get({ keyId });
    expect(state).to.deep.equal({
      isBlocked: false,
      blockedAt: undefined,
      createdAt: new Date(clock.now()),
      expiresAt: new Date(clock.now() + 300 * SECOND),
      releaseAt: undefined,
      state: KeyState.AVAILABLE,
      ttl: { seconds: 300, nanos: 0 },
      lease: undefined,
    });
  });

  it("acquires, reports the block, and releases by time at release_at exactly", async () => {
    const { keyId } = await h.client.create({});
    clock.advance(5 * SECOND);
    expect((await h.client.acquire({})).keyId).to.equal(keyId);
    const blocked = await h.client.get({ keyId });
    expect(blocked.isBlocked).to.equal(true);
    expect(blocked.blockedAt).to.deep.equal(new Date(clock.now()));
    expect(blocked.releaseAt).to.deep.equal(new Date(clock.now() + 60 * SECOND));
    expect(await codeOf(h.client.acquire({}))).to.equal(Code.NOT_FOUND);
    clock.advance(60 * SECOND - 1);
    expect((await h.client.get({ keyId })).isBlocked).to.equal(true);
    clock.advance(1);
    expect((await h.client.get({ keyId })).isBlocked).to.equal(false);
    expect((await h.client.acquire({})).keyId).to.equal(keyId);
  });

  it("rounds asked durations up to whole milliseconds, so every deadline is a whole millisecond", async () => {
    const { keyId } = await h.client.create({ ttl: { seconds: 2, nanos: 500_001 } });
    expect((await h.client.get({ keyId })).ttl).to.deep.equal({ seconds: 2, nanos: 1_000_000 });
    const held = await h.client.acquire({ blockTtl: { seconds: 1, nanos: 1 } });
    expect(held.releaseAt).to.deep.equal(new Date(clock.now() + 1001));
    await h.client.release({ keyId, lease: held.lease, cooldown: { seconds: 0, nanos: 1_500_000 } });
    expect((await h.client.get({ keyId })).releaseAt).to.deep.equal(new Date(clock.now() + 2));
    clock.advance(1);
    expect((await h.client.get({ keyId })).state).to.equal(KeyState.COOLING);
    clock.advance(1);
    expect((await h.client.get({ keyId })).state).to.equal(KeyState.AVAILABLE);
  });

  it("keeps a key alive, deletes it at expires_at exactly, and answers NOT_FOUND after", async () => {
    const { keyId } = await h.client.create({});
    clock.advance(200 * SECOND);
    const { expiresAt } = await h.client.keepAlive({ keyId });
    expect(expiresAt).to.deep.equal(new Date(clock.now() + 300 * SECOND));
    clock.advance(300 * SECOND - 1);
    expect((await h.client.get({ keyId })).expiresAt).to.deep.equal(expiresAt);
    clock.advance(1);
    expect(await codeOf(h.client.get({ keyId }))).to.equal(Code.NOT_FOUND);
    expect(await codeOf(h.client.keepAlive({ keyId }))).to.equal(Code.NOT_FOUND);
  });

  it("deletes blocked keys and releases available ones as a no-op", async () => {
    const { keyId } = await h.client.create({});
    expect(await h.client.release({ keyId })).to.deep.equal({});
    await h.client.acquire({});
    expect(await h.client.delete({ keyId })).to.deep.equal({});
    expect(await codeOf(h.client.get({ keyId }))).to.equal(Code.NOT_FOUND);
    expect(await codeOf(h.client.delete({ keyId }))).to.equal(Code.NOT_FOUND);
    expect(await codeOf(h.client.release({ keyId }))).to.equal(Code.NOT_FOUND);
  });

  it("answers INVALID_ARGUMENT for empty and over-long ids, and looks up any other string", async () => {
    for (const call of [h.client.get, h.client.delete, h.client.release, h.client.keepAlive]) {
      expect(await codeOf(call({ keyId: "" }))).to.equal(Code.INVALID_ARGUMENT);
      expect(await codeOf(call({ keyId: "x".repeat(129) }))).to.equal(Code.INVALID_ARGUMENT);
      expect(await codeOf(call({ keyId: "x".repeat(128) }))).to.equal(Code.NOT_FOUND);
      expect(await codeOf(call({ keyId: "../é/?#%00" }))).to.equal(Code.NOT_FOUND);
    }
  });

  it("answers RESOURCE_EXHAUSTED past MAX_KEYS, and the pool is intact after", async () => {
    for (let i = 0; i < 3; i += 1) await h.client.create({});
    expect(await codeOf(h.client.create({}))).to.equal(Code.RESOURCE_EXHAUSTED);
    expect((await h.client.acquire({})).keyId).to.be.a("string");
  });

  it("logs one structured line per call with method, code and duration", async () => {
    await h.client.create({}, { metadata: { "x-request-id": "req-42" } });
    await codeOf(h.client.get({ keyId: "missing" }));
    const calls = h.logs.filter((line) => line["msg"] === "call");
    expect(calls).to.have.length(2);
    expect(calls[0]).to.include({ method: "/tokens.v1.TokenService/Create", code: Code.OK, transport: "grpc", requestId: "req-42" });
    expect(calls[1]).to.include({ method: "/tokens.v1.TokenService/Get", code: Code.NOT_FOUND });
    expect(calls[1]?.["ms"]).to.be.a("number");
  });
});

describe("gRPC TokenService: unexpected errors", () => {
  it("become INTERNAL without leaking their details", async () => {
    const broken = new MemoryStore(new ManualClock(), { keyTtlMs: 1000, blockTtlMs: 100, maxKeys: 10 });
    const store: KeyStore = Object.assign(Object.create(broken) as KeyStore, {
      get: async () => {
        throw new Error("secret connection string redis://user:pw@host");
      },
      acquire: async () => {
        throw new DomainError("unavailable", "store unavailable");
      },
    });
    const h = await startHarness({ store });
    try {
      const error = await h.client.get({ keyId: "k" }).catch((e: unknown) => e as ServiceError);
      expect(error).to.include({ code: Code.INTERNAL, details: "internal error" });
      expect(await codeOf(h.client.acquire({}))).to.equal(Code.UNAVAILABLE);
      // The server is still up and the details went to the log only.
      expect((await h.client.create({})).keyId).to.be.a("string");
      expect(JSON.stringify(h.logs)).to.contain("secret connection string");
    } finally {
      await h.close();
    }
  });
});

describe("gRPC TokenService: malformed and invalid requests", () => {
  let h: Harness;
  let raw: Client;
  before(async () => {
    h = await startHarness();
    raw = new Client(h.app.grpcAddress, credentials.createInsecure());
  });
  after(async () => {
    raw.close();
    await h.close();
  });

  /** Sends `bytes` as the request message of `method`, as no generated client would. */
  function codeOfBytes(method: string, bytes: number[]): Promise<number> {
    return new Promise((resolve) => {
      raw.makeUnaryRequest(
        `/tokens.v1.TokenService/${method}`,
        (value: Buffer) => value,
        (value: Buffer) => value,
        Buffer.from(bytes),
        (error: GrpcServiceError | null) => resolve(error === null ? Code.OK : error.code),
      );
    });
  }

  it("a message that does not parse is INTERNAL, as the gRPC spec's status table and grpc-go say", async () => {
    expect(await codeOfBytes("Get", [0xff, 0xff, 0xff]), "bad tag").to.equal(Code.INTERNAL);
    expect(await codeOfBytes("Get", [0x0a, 0x05, 0x61]), "truncated string").to.equal(Code.INTERNAL);
    expect(await codeOfBytes("Get", [0x08, 0x80]), "truncated varint").to.equal(Code.INTERNAL);
    expect(await codeOfBytes("Get", [0x0f]), "wire type 7").to.equal(Code.INTERNAL);
  });

  it("a well-formed message with a bad value is INVALID_ARGUMENT; unknown fields are skipped", async () => {
    expect(await codeOfBytes("Get", []), "empty key_id").to.equal(Code.INVALID_ARGUMENT);
    expect(await codeOfBytes("Release", [0xf8, 0x06, 0x01]), "only an unknown field 111").to.equal(Code.INVALID_ARGUMENT);
    expect(await codeOfBytes("Create", [0xf8, 0x06, 0x01]), "Create with an unknown field").to.equal(Code.OK);
  });

  it("the server is unharmed: a normal call still works", async () => {
    expect((await h.client.create({})).keyId).to.be.a("string");
  });
});

describe("gRPC KeepAliveStream: how the caller ends it", () => {
  let h: Harness;
  beforeEach(async () => {
    h = await startHarness();
  });
  afterEach(() => h.close());

  /** One stream: writes a request per key id, half-closes, and resolves with the answers and the final status. */
  function keepAliveAll(keyIds: readonly string[]): Promise<{ answers: [string, number][]; code: number }> {
    return new Promise((resolve, reject) => {
      const call = h.client.raw.keepAliveStream();
      const answers: [string, number][] = [];
      const timer = setTimeout(() => {
        call.cancel();
        reject(new Error(`no status within 5 s; answers so far: ${JSON.stringify(answers)}`));
      }, 5000);
      call.on("data", (answer: KeepAliveStreamResponse) => answers.push([answer.keyId, answer.code]));
      call.on("error", () => undefined); // the status says it
      call.on("status", (status: { code: number }) => {
        clearTimeout(timer);
        resolve({ answers, code: status.code });
      });
      for (const keyId of keyIds) call.write({ keyId });
      call.end();
    });
  }

  it("requests that arrive with the half-close are all answered, in order, and the call ends OK (found by the fuzz)", async () => {
    const { keyId } = await h.client.create({});
    const result = await keepAliveAll([keyId, "", "missing", keyId]);
    expect(result.answers).to.deep.equal([
      [keyId, Code.OK],
      ["", Code.INVALID_ARGUMENT],
      ["missing", Code.NOT_FOUND],
      [keyId, Code.OK],
    ]);
    expect(result.code).to.equal(Code.OK);
    expect((await keepAliveAll([])).code, "no request at all").to.equal(Code.OK);
  });

  it("when grpc-js ends the call itself (an oversized frame) while answers are being written, its status still reaches the caller (found by the fuzz)", async () => {
    const session = connect(`http://${h.app.grpcAddress}`);
    session.on("error", () => undefined);
    const oversized = Buffer.alloc(5);
    oversized.writeUInt32BE(100_000, 1); // a frame header over the 64 KiB receive limit
    const empty = grpcMessage(new Uint8Array(0)); // KeepAliveStreamRequest{}: answered INVALID_ARGUMENT
    try {
      for (let round = 0; round < 5; round += 1) {
        const status = await new Promise<string>((resolve) => {
          const stream = session.request({ ":method": "POST", ":path": "/tokens.v1.TokenService/KeepAliveStream", "content-type": "application/grpc", te: "trailers" });
          const timer = setTimeout(() => {
            stream.close(8);
            resolve("none within 5 s");
          }, 5000);
          stream.on("trailers", (trailers) => resolve(String(trailers["grpc-status"])));
          stream.on("response", (headers) => headers["grpc-status"] !== undefined && resolve(String(headers["grpc-status"])));
          stream.on("data", () => undefined);
          stream.on("close", () => clearTimeout(timer));
          stream.write(Buffer.concat([empty, empty, empty]));
          stream.end(oversized);
        });
        expect(status, `round ${round}`).to.equal(String(Code.RESOURCE_EXHAUSTED));
      }
    } finally {
      session.destroy();
    }
  });

  it("a caller that cancels mid-stream: the call ends without an internal error, and streams still work", async () => {
    const { keyId } = await h.client.create({});
    const call = h.client.raw.keepAliveStream();
    call.on("error", () => undefined);
    const answered = new Promise((resolve) => call.once("data", resolve));
    call.write({ keyId });
    await answered;
    call.cancel();
    const line = async (): Promise<Record<string, unknown>> => {
      const deadline = Date.now() + 5000;
      for (;;) {
        const found = h.logs.find((entry) => entry["msg"] === "call" && entry["method"] === "/tokens.v1.TokenService/KeepAliveStream");
        if (found !== undefined) return found;
        if (Date.now() > deadline) throw new Error("the stream's call line was never written");
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    };
    // grpc-js reports the reset as a half-close before it says "cancelled": either code is the caller's doing.
    expect((await line())["code"]).to.be.oneOf([Code.OK, Code.CANCELLED]);
    expect(h.logs.filter((entry) => (entry["level"] as number) >= 50)).to.deep.equal([]);
    expect((await keepAliveAll([keyId])).answers).to.deep.equal([[keyId, Code.OK]]);
  });
});

describe("gRPC TokenService on the real clock", () => {
  it("releases by time and expires by time without any manual step", async () => {
    const h = await startHarness({ env: { KEY_TTL: "400ms", BLOCK_TTL: "150ms" } });
    try {
      const { keyId } = await h.client.create({});
      await h.client.acquire({});
      const state = await h.client.get({ keyId });
      const releaseAt = state.releaseAt?.getTime() ?? 0;
      const expiresAt = state.expiresAt?.getTime() ?? 0;
      await sleepUntil(releaseAt);
      expect((await h.client.get({ keyId })).isBlocked).to.equal(false);
      await sleepUntil(expiresAt);
      expect(await codeOf(h.client.get({ keyId }))).to.equal(Code.NOT_FOUND);
    } finally {
      await h.close();
    }
  });
});

/** Waits until the wall clock has reached `ms`: deadlines are exact, so no slack is added. */
async function sleepUntil(ms: number): Promise<void> {
  while (Date.now() < ms) await new Promise((resolve) => setTimeout(resolve, Math.max(1, ms - Date.now())));
}
