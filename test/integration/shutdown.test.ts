import { connect as tcpConnect, type Socket } from "node:net";
import { credentials, makeGenericClientConstructor, type ClientReadableStream } from "@grpc/grpc-js";
import { expect } from "chai";
import { service as healthService } from "grpc-health-check";
import type { ServiceError } from "../../clients";
import { ServerReflectionRequest } from "../../clients/generated/grpc/reflection/v1/reflection";
import { MemoryStore } from "../../src/store/memory/memory-store";
import type { KeyRecord, KeyStore } from "../../src/store/port";
import { buildFirst } from "../support/build";
import { startHarness } from "../support/harness";
import { ManualClock } from "../support/manual-clock";
import { startServiceProcess } from "../support/process";
import { FLAG, FRAME, frame, grpcHeaders, grpcMessage, openingWithHugeWindows } from "../support/raw-http2";

describe("graceful shutdown", () => {
  it("goes NOT_SERVING, refuses new calls, and lets calls in flight finish", async () => {
    const clock = new ManualClock();
    const memory = new MemoryStore(clock, { keyTtlMs: 60_000, blockTtlMs: 1000, maxKeys: 100 });
    let releaseGet: () => void = () => undefined;
    let getStarted: () => void = () => undefined;
    const started = new Promise<void>((resolve) => (getStarted = resolve));
    const store: KeyStore = Object.assign(Object.create(memory) as KeyStore, {
      get: async (keyId: string): Promise<KeyRecord> => {
        getStarted();
        await new Promise<void>((resolve) => (releaseGet = resolve));
        return memory.get(keyId);
      },
    });
    const h = await startHarness({ store, env: { SHUTDOWN_GRACE: "5s" } });
    const { keyId } = await h.client.create({});
    const inFlight = h.client.get({ keyId });
    await started;

    const statuses = watchHealth(h.app.grpcAddress);
    await waitFor(() => statuses.seen.includes("SERVING"));
    const stopped = h.app.stop();
    await waitFor(() => statuses.seen.includes("NOT_SERVING"));
    statuses.stream.cancel();
    const refused = await h.client.create({}).then(
      () => undefined,
      (error: unknown) => error as ServiceError,
    );
    expect(refused, "a call after shutdown began must be refused").to.not.equal(undefined);

    releaseGet();
    expect((await inFlight).isBlocked).to.equal(false);
    await stopped;
    h.client.close();
  });

  it("forces the stop after the grace period when a call never finishes", async () => {
    const memory = new MemoryStore(new ManualClock(), { keyTtlMs: 60_000, blockTtlMs: 1000, maxKeys: 100 });
    const store: KeyStore = Object.assign(Object.create(memory) as KeyStore, {
      get: () => new Promise<KeyRecord>(() => undefined),
    });
    const h = await startHarness({ store, env: { SHUTDOWN_GRACE: "200ms" } });
    const hung = h.client.get({ keyId: "k" }).catch((error: unknown) => error as ServiceError);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const began = Date.now();
    await h.app.stop();
    expect(Date.now() - began).to.be.lessThan(3000);
    expect(await hung).to.have.property("code");
    h.client.close();
  });
});

describe("shutdown of the process", function () {
  this.timeout(30_000);
  buildFirst();

  it("exits 0 within SHUTDOWN_GRACE + 1 s while clients that stopped reading hold both ports", async () => {
    const service = await startServiceProcess({ SHUTDOWN_GRACE: "1s", LOG_LEVEL: "warn" });
    const sockets: Socket[] = [];
    try {
      // gRPC: 200 reflection calls with every flow-control window open, on a socket never read:
      // the server's ~20 MB of answers fill the kernel buffers and stay pending.
      const grpc = stuckSocket(service.grpcAddress, sockets);
      const request = grpcMessage(ServerReflectionRequest.encode({ host: "", fileContainingSymbol: "tokens.v1.TokenService" }).finish());
      const calls = Array.from({ length: 200 }, (_, i) => [
        frame(FRAME.HEADERS, FLAG.END_HEADERS, 2 * i + 1, grpcHeaders(service.grpcAddress, "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo")),
        frame(FRAME.DATA, 0, 2 * i + 1, request), // the stream stays open: a bidirectional call in flight
      ]);
      grpc.write(Buffer.concat([openingWithHugeWindows(), ...calls.flat()]));
      // REST: 300 pipelined GET /openapi.json on a socket never read.
      const http = stuckSocket(service.httpAddress ?? "", sockets);
      http.write(`GET /openapi.json HTTP/1.1\r\nHost: x\r\n\r\n`.repeat(300));
      // Real time, a real process: give the server a moment to answer into the unread sockets.
      await new Promise((resolve) => setTimeout(resolve, 500));

      const began = Date.now();
      service.child.kill("SIGTERM");
      const code = await Promise.race([service.exited, new Promise<string>((resolve) => setTimeout(() => resolve("still running"), 5000))]);
      expect(code, "exit code").to.equal(0);
      expect(Date.now() - began, "ms from SIGTERM to exit").to.be.below(2000);
    } finally {
      for (const socket of sockets) socket.destroy();
      service.child.kill("SIGKILL");
    }
  });
});

describe("start-up and repeated signals", function () {
  this.timeout(30_000);
  buildFirst();

  it("a second SIGTERM or a SIGINT during the stop changes nothing: exit 0", async () => {
    const service = await startServiceProcess({ SHUTDOWN_GRACE: "1s", LOG_LEVEL: "warn" });
    service.child.kill("SIGTERM");
    service.child.kill("SIGTERM");
    service.child.kill("SIGINT");
    expect(await service.exited).to.equal(0);
  });

  it("a port already taken stops start-up with an error naming the setting", async () => {
    const first = await startHarness();
    try {
      const port = first.app.grpcPort;
      const error = await startHarness({ env: { GRPC_PORT: String(port) } }).then(
        () => expect.fail("the second app started"),
        (failure: unknown) => failure as Error,
      );
      expect(error.message).to.contain(`GRPC_PORT=${port}`).and.not.contain("\n");
      const restError = await startHarness({ env: { PORT: String(first.app.httpPort) } }).then(
        () => expect.fail("the second app started"),
        (failure: unknown) => failure as Error,
      );
      expect(restError.message).to.contain(`PORT=${first.app.httpPort}`);
    } finally {
      await first.close();
    }
  });
});

/** A TCP connection that never reads (no 'data' listener, so the socket stays paused). */
function stuckSocket(address: string, into: Socket[]): Socket {
  const colon = address.lastIndexOf(":");
  const socket = tcpConnect(Number(address.slice(colon + 1)), address.slice(0, colon));
  socket.on("error", () => undefined);
  into.push(socket);
  return socket;
}

/** Streams grpc.health.v1.Health/Watch for "" over a real socket. */
function watchHealth(address: string): { seen: string[]; stream: ClientReadableStream<{ status: string }> } {
  const Client = makeGenericClientConstructor(healthService, "Health");
  const client = new Client(address, credentials.createInsecure());
  const seen: string[] = [];
  const stream = (client as unknown as { watch: (req: object) => ClientReadableStream<{ status: string }> }).watch({ service: "" });
  stream.on("data", (message: { status: string }) => seen.push(message.status));
  stream.on("error", () => client.close());
  return { seen, stream };
}

async function waitFor(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in 5s");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
