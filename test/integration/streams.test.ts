import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import http2 from "node:http2";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { expect } from "chai";
import {
  Code,
  createTokenClient,
  type KeepAliveStreamResponse,
  type KeyEvent,
  KeyEventType,
  type ServiceError,
  type TokenClient,
} from "../../clients";
import { KeepAliveStreamRequestSchema, KeepAliveStreamResponseSchema, WatchRequestSchema } from "../../src/generated/tokens/v1/tokens_pb";
import { type Harness, startHarness } from "../support/harness";
import { httpRequest } from "../support/http-request";
import { grpcMessage } from "../support/raw-http2";

const CURL = "/usr/bin/curl";

/** Reads a watch into an array as events come; `until` resolves once `count` events are in. */
function collect(client: TokenClient, startRevision: number, signal: AbortSignal) {
  const events: KeyEvent[] = [];
  let failure: unknown;
  const waiters: { count: number; resolve: () => void }[] = [];
  const done = (async () => {
    try {
      for await (const event of client.watch({ startRevision }, { signal })) {
        events.push(event);
        for (const waiter of waiters.filter((w) => events.length >= w.count)) waiter.resolve();
      }
    } catch (error) {
      failure = error;
    }
  })();
  return {
    events,
    done,
    failure: () => failure,
    until: (count: number, timeoutMs = 5000): Promise<void> =>
      events.length >= count
        ? Promise.resolve()
        : new Promise<void>((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`only ${events.length} of ${count} events after ${timeoutMs} ms`)), timeoutMs);
            waiters.push({ count, resolve: () => (clearTimeout(timer), resolve()) });
          }),
  };
}

/** Polls `read` until it stops changing for 200 ms; answers its last value. */
async function settled(read: () => number): Promise<number> {
  let last = -1;
  while (read() !== last) {
    last = read();
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return last;
}

/** A gRPC call on node:http2 itself, whose reading the test controls; `finish` reads it to the end. */
function grpcCall(address: string, method: string, settings: http2.Settings = {}) {
  const session = http2.connect(`http://${address}`, { settings });
  session.on("error", () => undefined); // a test that fails early closes the server under it; the stream reports
  const stream = session.request({ ":method": "POST", ":path": `/tokens.v1.TokenService/${method}`, "content-type": "application/grpc", te: "trailers" });
  return {
    stream,
    finish: () =>
      new Promise<{ messages: Uint8Array[]; status: string | undefined; message: string | undefined }>((resolve, reject) => {
        const chunks: Buffer[] = [];
        let trailers: http2.IncomingHttpHeaders = {};
        stream.on("data", (chunk: Buffer) => chunks.push(chunk));
        stream.on("trailers", (received) => (trailers = received));
        stream.on("error", reject);
        stream.on("end", () => {
          session.close();
          const bytes = Buffer.concat(chunks);
          const messages: Uint8Array[] = [];
          for (let at = 0; at + 5 <= bytes.length; at += 5 + bytes.readUInt32BE(at + 1)) messages.push(bytes.subarray(at + 5, at + 5 + bytes.readUInt32BE(at + 1)));
          const header = (name: string) => (typeof trailers[name] === "string" ? decodeURIComponent(trailers[name] as string) : undefined);
          resolve({ messages, status: header("grpc-status"), message: header("grpc-message") });
        });
        stream.resume();
      }),
  };
}

const ms = (timestamp: Date | undefined): number => (timestamp as Date).getTime();
const typeNames = (events: readonly KeyEvent[]): string[] => events.map((event) => KeyEventType[event.type]);

describe("streams on the memory store", function () {
  this.timeout(30_000);
  let harness: Harness;
  let client: TokenClient;

  beforeEach(async () => {
    harness = await startHarness({ env: { WATCH_RETENTION: "50", WATCH_SEND_TIMEOUT: "300ms" } });
    client = harness.client;
  });
  afterEach(() => harness.close());

  describe("KeepAliveStream", () => {
    it("renews many keys on one stream, one answer per request in order; a bad item is answered and the stream goes on", async () => {
      const created = await Promise.all([1, 2, 3].map(() => client.create({})));
      const held = await client.acquire({});
      const keys = created.filter((key) => key.keyId !== held.keyId); // the two still available
      const session = client.keepAliveStream();
      const answers: KeepAliveStreamResponse[] = await Promise.all([
        session.renew({ keyId: keys[0]?.keyId as string }),
        session.renew({ keyId: "no-such-key" }),
        session.renew({ keyId: held.keyId, lease: held.lease }),
        session.renew({ keyId: held.keyId, lease: held.lease + 1 }),
        session.renew({ keyId: "" }),
        session.renew({ keyId: "x".repeat(200) }),
        session.renew({ keyId: keys[1]?.keyId as string }),
      ]);
      expect(answers.map((answer) => answer.code)).to.deep.equal([Code.OK, Code.NOT_FOUND, Code.OK, Code.ABORTED, Code.INVALID_ARGUMENT, Code.INVALID_ARGUMENT, Code.OK]);
      expect(answers.map((answer) => answer.keyId)).to.deep.equal([keys[0]?.keyId, "no-such-key", held.keyId, held.keyId, "", "", keys[1]?.keyId]);
      expect(answers[3]?.message).to.match(/lease/);
      expect(answers[5]?.message, "nothing the caller sent is echoed").not.to.include("xxxx");
      // The renewal with the current lease renewed the hold too, as the unary KeepAlive does.
      expect(ms(answers[2]?.releaseAt)).to.be.greaterThan(ms(held.releaseAt) - 1);
      expect(answers[0]?.releaseAt).to.equal(undefined);
      const get = await client.get({ keyId: keys[0]?.keyId as string });
      expect(ms(get.expiresAt)).to.equal(ms(answers[0]?.expiresAt));
      session.end();
    });

    it("is back-pressured: a caller that stops reading stops the renewals, and gets every answer once it reads again", async () => {
      const { keyId } = await client.create({});
      let renewed = 0;
      harness.app.store.onKeyEvent((event) => {
        if (event.type === "KEPT_ALIVE") renewed += 1;
      });
      // node:http2 honours flow control when paused (grpc-js's client would buffer every answer in memory instead).
      // A 1 KiB window, not 64 KiB: the server stalls after a few dozen answers (32 measured),
      // so 2,000 requests show it (40,000 did with the default window).
      const call = grpcCall(harness.app.grpcAddress, "KeepAliveStream", { initialWindowSize: 1024 });
      call.stream.pause();
      const total = 2_000;
      const one = grpcMessage(toBinary(KeepAliveStreamRequestSchema, create(KeepAliveStreamRequestSchema, { keyId })));
      for (let i = 0; i < total; i += 1) call.stream.write(one);
      call.stream.end();
      const stalledAt = await settled(() => renewed);
      expect(stalledAt, "the server stopped renewing while nobody read its answers").to.be.lessThan(total / 4);
      const { messages, status } = await call.finish();
      expect(status).to.equal(String(Code.OK));
      expect(messages).to.have.length(total);
      expect(messages.every((bytes) => fromBinary(KeepAliveStreamResponseSchema, bytes).code === Code.OK)).to.equal(true);
      expect(renewed).to.equal(total);
    });
  });

  describe("Watch over gRPC", () => {
    it("streams every event with consecutive revisions, and resumes from a revision with no gap", async () => {
      const stop = new AbortController();
      const watch = collect(client, 0, stop.signal);
      await new Promise((resolve) => setTimeout(resolve, 50)); // the watch is open before the first change
      const { keyId } = await client.create({});
      const held = await client.acquire({});
      await client.keepAlive({ keyId, lease: held.lease });
      await client.release({ keyId, lease: held.lease, cooldown: { seconds: 60, nanos: 0 } });
      await client.delete({ keyId });
      await watch.until(5);
      expect(typeNames(watch.events)).to.deep.equal(["CREATED", "ACQUIRED", "KEPT_ALIVE", "COOLDOWN_STARTED", "DELETED"]);
      expect(watch.events.every((event) => event.keyId === keyId)).to.equal(true);
      const first = watch.events[0]?.revision as number;
      expect(watch.events.map((event) => event.revision)).to.deep.equal([0, 1, 2, 3, 4].map((n) => first + n));
      expect(watch.events[1]?.lease).to.equal(held.lease);
      expect(watch.events[0]?.lease, "CREATED is about no lease").to.equal(undefined);
      stop.abort();
      await watch.done;
      expect(watch.failure(), "aborting ends the iteration quietly").to.equal(undefined);

      // A watcher that saw up to the ACQUIRED event resumes right after it.
      const again = new AbortController();
      const resumed = collect(client, first + 2, again.signal);
      await resumed.until(3);
      expect(resumed.events.map((event) => event.revision)).to.deep.equal([first + 2, first + 3, first + 4]);
      again.abort();
      await resumed.done;
    });

    it("sends an automatic event within a second of its deadline, `at` being the deadline itself", async () => {
      const stop = new AbortController();
      const watch = collect(client, 0, stop.signal);
      await new Promise((resolve) => setTimeout(resolve, 50));
      const created = await client.create({ ttl: { seconds: 1, nanos: 0 } });
      const arrivals: number[] = [];
      await watch.until(1);
      const expired = new Promise<void>((resolve) => {
        const poll = setInterval(() => {
          if (watch.events.length >= 2) {
            arrivals.push(Date.now());
            clearInterval(poll);
            resolve();
          }
        }, 5);
      });
      await expired;
      expect(typeNames(watch.events)).to.deep.equal(["CREATED", "EXPIRED"]);
      expect(ms(watch.events[1]?.at)).to.equal(ms(created.expiresAt));
      expect((arrivals[0] as number) - ms(created.expiresAt)).to.be.within(0, 1000);
      stop.abort();
      await watch.done;
    });

    it("answers OUT_OF_RANGE for a revision no longer retained (WATCH_RETENTION=50)", async () => {
      for (let i = 0; i < 60; i += 1) await client.create({});
      const stop = new AbortController();
      const watch = collect(client, 1, stop.signal);
      await watch.done;
      expect((watch.failure() as ServiceError).code).to.equal(Code.OUT_OF_RANGE);
      expect((watch.failure() as ServiceError).details).to.match(/oldest is 11/);
      const kept = collect(client, 11, stop.signal);
      await kept.until(50);
      expect(kept.events[0]?.revision).to.equal(11);
      stop.abort();
      await kept.done;
    });

    it("drops a watcher that stops reading (RESOURCE_EXHAUSTED after WATCH_SEND_TIMEOUT), and the pool goes on", async () => {
      const call = grpcCall(harness.app.grpcAddress, "Watch", { initialWindowSize: 1024 }); // fills after a few events
      call.stream.pause();
      call.stream.end(grpcMessage(toBinary(WatchRequestSchema, create(WatchRequestSchema, {}))));
      await new Promise((resolve) => setTimeout(resolve, 100)); // the watch is open
      const keyIds: string[] = [];
      for (let i = 0; i < 40; i += 1) keyIds.push((await client.create({})).keyId);
      // Far more events than the flow-control windows hold.
      const session = client.keepAliveStream();
      await Promise.all(Array.from({ length: 1_000 }, (_, i) => session.renew({ keyId: keyIds[i % keyIds.length] as string })));
      session.end();
      await new Promise((resolve) => setTimeout(resolve, 600)); // past WATCH_SEND_TIMEOUT
      const { messages, status, message } = await call.finish();
      expect(status).to.equal(String(Code.RESOURCE_EXHAUSTED));
      expect(message).to.match(/resume from revision \d+/);
      expect(messages.length, "what was in flight still arrives").to.be.within(1, 1_039);
      expect((await client.stats({})).total).to.equal(40);
    });

    it("counts open watches in the call metrics and a watch its caller ended as CANCELLED", async () => {
      const stop = new AbortController();
      const watch = collect(client, 0, stop.signal);
      await client.create({});
      await watch.until(1);
      const metric = async (name: string): Promise<number> => {
        const text = (await httpRequest(harness.app.httpAddress, "/metrics")).text;
        const line = text.split("\n").find((l) => l.startsWith(name));
        return line === undefined ? 0 : Number(line.split(" ").pop());
      };
      const started = 'grpc_server_started_total{grpc_type="server_stream",grpc_service="tokens.v1.TokenService",grpc_method="Watch",transport="grpc"}';
      const cancelled = 'grpc_server_handled_total{grpc_type="server_stream",grpc_service="tokens.v1.TokenService",grpc_method="Watch",transport="grpc",grpc_code="Canceled"}';
      expect(await metric(started)).to.equal(1);
      expect(await metric(cancelled)).to.equal(0);
      stop.abort();
      await watch.done;
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(await metric(cancelled)).to.equal(1);
    });
  });

  describe("GET /events (Server-Sent Events)", () => {
    it("streams with `curl -N`: id is the revision, event the type, data the protojson event", async () => {
      const curl: ChildProcessWithoutNullStreams = spawn(CURL, ["-sN", `http://${harness.app.httpAddress}/events`]);
      try {
        let output = "";
        curl.stdout.on("data", (chunk: Buffer) => (output += chunk.toString("utf8")));
        await new Promise((resolve) => setTimeout(resolve, 300)); // curl has connected
        const { keyId } = await client.create({});
        const held = await client.acquire({});
        while (!output.includes("event: ACQUIRED")) await new Promise((resolve) => setTimeout(resolve, 20));
        const frames = output.trim().split("\n\n");
        expect(frames).to.have.length(2);
        const [id, event, data] = (frames[1] as string).split("\n");
        expect(event).to.equal("event: ACQUIRED");
        const json = JSON.parse((data as string).replace(/^data: /, "")) as Record<string, unknown>;
        expect(id).to.equal(`id: ${json["revision"] as string}`);
        expect(json).to.include({ type: "ACQUIRED", keyId, lease: String(held.lease) });
        expect(json["at"]).to.match(/^\d{4}-\d\d-\d\dT/);
      } finally {
        curl.kill("SIGINT");
        await once(curl, "exit");
      }
    });

    it("resumes after Last-Event-ID (it wins over ?startRevision), and answers JSON errors before the stream opens", async () => {
      for (let i = 0; i < 3; i += 1) await client.create({});
      const frames = await readFrames(harness.app.httpAddress, "/events?startRevision=1", { "last-event-id": "1" }, 2);
      expect(frames.map((frame) => frame.id)).to.deep.equal(["2", "3"]);
      expect(frames.map((frame) => frame.event)).to.deep.equal(["CREATED", "CREATED"]);

      const bad = await httpRequest(harness.app.httpAddress, "/events", { headers: { "last-event-id": "two" } });
      expect(bad.status).to.equal(400);
      expect(bad.json()).to.deep.include({ code: Code.INVALID_ARGUMENT });
      for (let i = 0; i < 60; i += 1) await client.create({});
      const gone = await httpRequest(harness.app.httpAddress, "/events?startRevision=1");
      expect(gone.status).to.equal(400); // OUT_OF_RANGE, as grpc-gateway maps it
      expect(gone.json()).to.deep.include({ code: Code.OUT_OF_RANGE });
      const notNumber = await httpRequest(harness.app.httpAddress, "/events?startRevision=x");
      expect(notNumber.status).to.equal(400);
    });
  });
});

describe("streams when the service stops", function () {
  this.timeout(20_000);

  it("end at once with UNAVAILABLE (a watch naming where to resume; SSE with an error event), so the stop takes no grace", async () => {
    const harness = await startHarness({ env: { SHUTDOWN_GRACE: "10s" } });
    const { client } = harness;
    try {
      const { keyId } = await client.create({});
      const watch = collect(client, 1, new AbortController().signal);
      await watch.until(1);
      const session = client.keepAliveStream();
      expect((await session.renew({ keyId })).code).to.equal(Code.OK);
      const sse = new Promise<string>((resolve, reject) => {
        const [host, port] = harness.app.httpAddress.split(":");
        http
          .get({ host, port: Number(port), path: "/events?startRevision=1", agent: false }, (res) => {
            let text = "";
            res.on("data", (chunk: Buffer) => (text += chunk.toString("utf8")));
            res.on("end", () => resolve(text));
          })
          .on("error", reject);
      });
      await new Promise((resolve) => setTimeout(resolve, 200));
      const began = Date.now();
      await harness.app.stop();
      expect(Date.now() - began, "ms to stop with three streams open").to.be.below(2000);
      await watch.done;
      expect((watch.failure() as ServiceError).code).to.equal(Code.UNAVAILABLE);
      expect((watch.failure() as ServiceError).details).to.match(/resume from revision 3$/);
      const renewal = await session.renew({ keyId }).catch((error: ServiceError) => error);
      expect((renewal as ServiceError).code).to.equal(Code.UNAVAILABLE);
      const text = await sse;
      expect(text).to.match(/^id: 1\nevent: CREATED\n/);
      expect(text).to.match(/event: error\ndata: \{"code":14,"message":"the service is stopping; resume from revision \d+","details":\[\]\}\n\n$/);
    } finally {
      client.close();
      await harness.app.stop();
    }
  });
});

describe("streams with tokens", function () {
  this.timeout(20_000);
  let harness: Harness;
  let dir: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "streams-tokens-"));
    const file = join(dir, "tokens");
    writeFileSync(file, "client client-secret-0123456789 worker\nadmin admin-secret-0123456789 ops\n");
    harness = await startHarness({ env: { AUTH_TOKENS_FILE: file } });
  });
  after(async () => {
    await harness.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const as = (token: string | undefined): TokenClient => createTokenClient(harness.app.grpcAddress, token === undefined ? {} : { token });

  it("Watch is the admin's: a client is PERMISSION_DENIED and nobody UNAUTHENTICATED, on gRPC and on REST", async () => {
    for (const [token, code] of [
      [undefined, Code.UNAUTHENTICATED],
      ["client-secret-0123456789", Code.PERMISSION_DENIED],
    ] as const) {
      const caller = as(token);
      try {
        let failure: unknown;
        try {
          for await (const _ of caller.watch({})) break;
        } catch (error) {
          failure = error;
        }
        expect((failure as ServiceError).code).to.equal(code);
      } finally {
        caller.close();
      }
    }
    const anonymous = await httpRequest(harness.app.httpAddress, "/events");
    expect(anonymous.status).to.equal(401);
    expect(anonymous.headers["www-authenticate"]).to.match(/^Bearer/);
    const client = await httpRequest(harness.app.httpAddress, "/events", { headers: { authorization: "Bearer client-secret-0123456789" } });
    expect(client.status).to.equal(403);
    const admin = await readFrames(harness.app.httpAddress, "/events?startRevision=1", { authorization: "Bearer admin-secret-0123456789" }, 1, async () => {
      const creator = as("admin-secret-0123456789");
      await creator.create({});
      creator.close();
    });
    expect(admin[0]?.event).to.equal("CREATED");
  });

  it("KeepAliveStream is a client's; without a token the stream fails UNAUTHENTICATED", async () => {
    const admin = as("admin-secret-0123456789");
    const worker = as("client-secret-0123456789");
    const stranger = as(undefined);
    try {
      const { keyId } = await admin.create({});
      const session = worker.keepAliveStream();
      expect((await session.renew({ keyId })).code).to.equal(Code.OK);
      session.end();
      const refused = stranger.keepAliveStream();
      const failure = await refused.renew({ keyId }).catch((error: ServiceError) => error);
      expect((failure as ServiceError).code).to.equal(Code.UNAUTHENTICATED);
    } finally {
      for (const caller of [admin, worker, stranger]) caller.close();
    }
  });
});

interface Frame {
  readonly id: string | undefined;
  readonly event: string | undefined;
  readonly data: string;
}

/** Opens an SSE stream, runs `meanwhile`, and answers its first `count` frames (comment frames skipped). */
function readFrames(
  address: string,
  path: string,
  headers: Readonly<Record<string, string>>,
  count: number,
  meanwhile: () => Promise<void> = async () => undefined,
): Promise<Frame[]> {
  const [host, port] = [address.slice(0, address.lastIndexOf(":")), Number(address.slice(address.lastIndexOf(":") + 1))];
  return new Promise((resolve, reject) => {
    const req = http.get({ host, port, path, headers, agent: false }, (res) => {
      if (res.statusCode !== 200 || !String(res.headers["content-type"]).startsWith("text/event-stream")) {
        reject(new Error(`status ${res.statusCode}, ${String(res.headers["content-type"])}`));
        return;
      }
      let text = "";
      const frames: Frame[] = [];
      res.on("data", (chunk: Buffer) => {
        text += chunk.toString("utf8");
        let end: number;
        while ((end = text.indexOf("\n\n")) >= 0) {
          const lines = text.slice(0, end).split("\n");
          text = text.slice(end + 2);
          if (lines.every((line) => line.startsWith(":"))) continue;
          const field = (name: string) => lines.find((line) => line.startsWith(`${name}: `))?.slice(name.length + 2);
          frames.push({ id: field("id"), event: field("event"), data: field("data") ?? "" });
        }
        if (frames.length >= count) {
          req.destroy();
          resolve(frames.slice(0, count));
        }
      });
      meanwhile().catch(reject);
    });
    req.on("error", (error) => {
      if (!req.destroyed) reject(error);
    });
  });
}
