import http from "node:http";
import { expect } from "chai";
import { type AcquireResponse, Code, type ServiceError } from "../../clients";
import type { Duration } from "../../clients/generated/google/protobuf/duration";
import { RedisStore } from "../../src/store/redis/redis-store";
import { codeOf } from "../support/grpc-code";
import { startHarness, type Harness } from "../support/harness";
import { httpRequest } from "../support/http-request";
import { TestRedis } from "../support/redis-server";

/**
 * Waiting acquires (AcquireRequest.wait) on both stores, in real time with small
 * waits: first come first served, timeouts, cancellation, MAX_ACQUIRE_WAIT, and on
 * Redis the cross-instance wake-ups (pub/sub, and a hold that ends by time).
 *
 * Knowing that a waiter is queued, from outside. A waiting call is "queued" once the
 * server has entered it (grpc_server_started_total counts it, in the outermost step of
 * the call pipeline) and its own first, non-waiting try at the store has answered "none"
 * (for Redis a round trip; the memory store answers in microtasks). So each waiter is
 * confirmed in two steps: (1) the started counter has grown by one; (2) a probe — a
 * plain Acquire without `wait` on the same instance — has come back NOT_FOUND. The probe
 * goes to the store after the waiter's try (Redis answers one connection in order), and
 * its answer reaches the test only through the socket, after every microtask of the
 * waiter's try (the step that queues it) has run. Each waiter is started only after the
 * one before is confirmed, so arrival order is start order, whatever the transport does
 * with concurrent calls.
 */

const ms = (value: number): Duration => ({ seconds: Math.floor(value / 1000), nanos: (value % 1000) * 1_000_000 });
const sleep = (delay: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, delay));

/** A call in flight whose outcome the test can look at without awaiting it. */
interface Pending<T> {
  readonly promise: Promise<T>;
  settled: number;
  value: T | undefined;
  error: ServiceError | undefined;
}

function track<T>(promise: Promise<T>): Pending<T> {
  const pending: Pending<T> = { promise, settled: 0, value: undefined, error: undefined };
  promise.then(
    (value) => {
      pending.settled += 1;
      pending.value = value;
    },
    (error: ServiceError) => {
      pending.settled += 1;
      pending.error = error;
    },
  );
  return pending;
}

/** The sum of a Prometheus counter's samples whose labels include `labels`. */
async function counter(h: Harness, name: string, labels: Readonly<Record<string, string>>): Promise<number> {
  let total = 0;
  for (const line of (await h.app.metrics.text()).split("\n")) {
    if (!line.startsWith(`${name}{`)) continue;
    const close = line.lastIndexOf("}");
    const labelText = line.slice(name.length + 1, close);
    if (Object.entries(labels).every(([key, value]) => labelText.includes(`${key}="${value}"`))) total += Number(line.slice(close + 1));
  }
  return total;
}

const acquiresStarted = (h: Harness, transport: "grpc" | "http"): Promise<number> =>
  counter(h, "grpc_server_started_total", { grpc_method: "Acquire", transport });
const acquiresHandled = (h: Harness, transport: "grpc" | "http"): Promise<number> =>
  counter(h, "grpc_server_handled_total", { grpc_method: "Acquire", transport });

async function until(condition: () => Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`not in ${timeoutMs} ms: ${what}`);
    await sleep(2);
  }
}

/** Starts one waiting call and returns once it is queued (see the comment at the top). */
async function queued<T>(h: Harness, transport: "grpc" | "http", start: () => Promise<T>): Promise<Pending<T>> {
  const before = await acquiresStarted(h, transport);
  const pending = track(start());
  await until(async () => pending.settled > 0 || (await acquiresStarted(h, transport)) > before, "the waiting Acquire reached the server");
  expect(await codeOf(h.client.acquire({})), "probe: no key is available").to.equal(Code.NOT_FOUND);
  expect(pending.settled, "still waiting").to.equal(0);
  return pending;
}

/** A REST GET whose connection the test can destroy. */
function restWaiter(address: string, path: string): { readonly request: http.ClientRequest; readonly done: Promise<number | string> } {
  const [host, port] = address.split(":") as [string, string];
  let request!: http.ClientRequest;
  const done = new Promise<number | string>((resolve) => {
    request = http.request({ host, port: Number(port), path, agent: false }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    request.on("error", (error: NodeJS.ErrnoException) => resolve(error.code ?? "error"));
    request.end();
  });
  return { request, done };
}

interface StoreSetup {
  readonly name: string;
  /** The environment of a harness on this store; each call a fresh, empty pool. */
  env(extra?: Readonly<Record<string, string>>): Readonly<Record<string, string>>;
}

function waitingSuite(setup: () => StoreSetup): void {
  let h: Harness;
  const start = async (extra: Readonly<Record<string, string>> = {}): Promise<Harness> => {
    h = await startHarness({ env: setup().env(extra) });
    return h;
  };
  afterEach(async () => {
    await h.close();
  });

  /** One key, leased by the test: its lease. */
  async function leasedKey(): Promise<{ keyId: string; lease: number }> {
    const { keyId } = await h.client.create({});
    const { lease } = await h.client.acquire({});
    return { keyId, lease };
  }

  it("100 waiters on one key freed one by one: served in arrival order, one answer each, none lost", async function () {
    this.timeout(20_000);
    await start();
    const { keyId, lease: first } = await leasedKey();
    const waiters: Pending<AcquireResponse>[] = [];
    for (let i = 0; i < 100; i += 1) waiters.push(await queued(h, "grpc", () => h.client.acquire({ wait: ms(20_000) })));

    let lease = first;
    for (const [i, waiter] of waiters.entries()) {
      await h.client.release({ keyId, lease });
      const got = await waiter.promise;
      expect(got.keyId).to.equal(keyId);
      expect(got.lease, `waiter ${i}`).to.be.greaterThan(lease);
      lease = got.lease;
      // Exactly the waiters up to this one have their answer, each one answer.
      expect(waiters.map((w) => w.settled), `after release ${i}`).to.deep.equal(waiters.map((_, j) => (j <= i ? 1 : 0)));
      expect((await h.client.get({ keyId })).lease).to.equal(lease);
    }
    await h.client.release({ keyId, lease });
    expect(waiters.every((w) => w.error === undefined && w.settled === 1)).to.equal(true);
    expect(await h.client.stats({})).to.deep.equal({ total: 1, available: 1, leased: 0, cooling: 0 });
    expect((await h.client.get({ keyId })).isBlocked).to.equal(false);
  });

  it("a wait that ends with no key: NOT_FOUND after at least the wait (gRPC), 404 {} (REST)", async () => {
    await start();
    await leasedKey();
    let started = Date.now();
    expect(await codeOf(h.client.acquire({ wait: ms(200) }))).to.equal(Code.NOT_FOUND);
    expect(Date.now() - started).to.be.at.least(200);
    started = Date.now();
    const res = await httpRequest(h.app.httpAddress, "/keys?wait=200ms");
    expect(Date.now() - started).to.be.at.least(200);
    expect(res.status, res.text).to.equal(404);
    expect(res.json()).to.deep.equal({});
  });

  it("a waiter gets a key at once when one is available, and a REST waiter is woken by a release", async () => {
    await start();
    const { keyId } = await h.client.create({});
    const got = await httpRequest(h.app.httpAddress, "/keys?wait=5s");
    expect(got.status, got.text).to.equal(200);
    const lease = (got.json() as { lease: string }).lease;
    const waiter = await queued(h, "http", () => httpRequest(h.app.httpAddress, "/keys?wait=5s"));
    await h.client.release({ keyId, lease: Number(lease) });
    const res = await waiter.promise;
    expect(res.status, res.text).to.equal(200);
    const body = res.json() as { keyId: string; lease: string };
    expect(body.keyId).to.equal(keyId);
    expect(BigInt(body.lease) > BigInt(lease)).to.equal(true);
  });

  it("wait is clamped by MAX_ACQUIRE_WAIT (300ms): asked 10s, NOT_FOUND after about 300 ms", async () => {
    await start({ MAX_ACQUIRE_WAIT: "300ms" });
    await leasedKey();
    let started = Date.now();
    expect(await codeOf(h.client.acquire({ wait: ms(10_000) }))).to.equal(Code.NOT_FOUND);
    let took = Date.now() - started;
    expect(took).to.be.at.least(300).and.below(5000);
    started = Date.now();
    const res = await httpRequest(h.app.httpAddress, "/keys?wait=10s");
    took = Date.now() - started;
    expect(res.status).to.equal(404);
    expect(took).to.be.at.least(300).and.below(5000);
  });

  it("a gRPC waiter that cancels leaves the queue: the freed key goes to the next waiter", async () => {
    await start();
    const { keyId, lease } = await leasedKey();
    let cancel!: () => void;
    const gone = await queued(
      h,
      "grpc",
      () =>
        new Promise<AcquireResponse>((resolve, reject) => {
          const call = h.client.raw.acquire({ wait: ms(10_000) }, (error, response) => (error ? reject(error) : resolve(response)));
          cancel = () => call.cancel();
        }),
    );
    const next = await queued(h, "grpc", () => h.client.acquire({ wait: ms(10_000) }));
    const handled = await acquiresHandled(h, "grpc");
    cancel();
    expect(await codeOf(gone.promise)).to.equal(Code.CANCELLED);
    await until(async () => (await counter(h, "grpc_server_handled_total", { grpc_method: "Acquire", grpc_code: "Canceled" })) === 1, "the server saw the cancel");
    expect(await acquiresHandled(h, "grpc")).to.equal(handled + 1);

    await h.client.release({ keyId, lease });
    const got = await next.promise;
    expect(got.keyId).to.equal(keyId);
    const state = await h.client.get({ keyId });
    expect(state.lease, "leased to the waiter that is there").to.equal(got.lease);
    expect(await h.client.stats({})).to.deep.equal({ total: 1, available: 0, leased: 1, cooling: 0 });
    expect(gone.settled).to.equal(1);
  });

  it("a gRPC waiter whose deadline passes leaves the queue: the freed key stays available", async () => {
    await start();
    const { keyId, lease } = await leasedKey();
    const gone = await queued(h, "grpc", () => h.client.acquire({ wait: ms(10_000) }, { timeoutMs: 300 }));
    expect(await codeOf(gone.promise)).to.equal(Code.DEADLINE_EXCEEDED);
    // The server ends the call too (grpc-js cancels it at the deadline): every Acquire started is handled.
    await until(async () => (await acquiresHandled(h, "grpc")) === (await acquiresStarted(h, "grpc")), "the server ended the call");
    await h.client.release({ keyId, lease });
    await sleep(50); // time for a (wrong) hand-over to a caller that is gone
    expect((await h.client.get({ keyId })).isBlocked).to.equal(false);
    expect(await h.client.stats({})).to.deep.equal({ total: 1, available: 1, leased: 0, cooling: 0 });
  });

  it("a REST waiter whose connection is destroyed leaves the queue: the freed key stays available", async () => {
    await start();
    const { keyId, lease } = await leasedKey();
    let waiter!: ReturnType<typeof restWaiter>;
    await queued(h, "http", () => {
      waiter = restWaiter(h.app.httpAddress, "/keys?wait=10s");
      return waiter.done;
    });
    waiter.request.destroy();
    expect(await waiter.done).to.be.a("string"); // a socket error, never a status
    await until(async () => (await acquiresHandled(h, "http")) === 1, "the server ended the REST call");
    expect(await counter(h, "grpc_server_handled_total", { grpc_method: "Acquire", transport: "http", grpc_code: "Canceled" })).to.equal(1);
    await h.client.release({ keyId, lease });
    await sleep(50);
    expect((await h.client.get({ keyId })).isBlocked).to.equal(false);
    expect(await h.client.stats({})).to.deep.equal({ total: 1, available: 1, leased: 0, cooling: 0 });
  });
}

describe("waiting acquire", function () {
  this.timeout(10_000);

  describe("memory store", () => {
    waitingSuite(() => ({ name: "memory", env: (extra = {}) => ({ ...extra }) }));
  });

  describe("Redis store", () => {
    let redis: TestRedis;
    let pools = 0;
    before(async function () {
      this.timeout(20_000);
      redis = await TestRedis.start({ durable: false });
    });
    after(() => redis.stop());

    waitingSuite(() => ({
      name: "redis",
      env: (extra = {}) => ({ STORE: "redis", REDIS_URL: redis.url, REDIS_PREFIX: `waiting-${(pools += 1)}:`, ...extra }),
    }));

    describe("across instances on one Redis", () => {
      let a: Harness;
      let b: Harness;
      afterEach(async () => {
        await a.close();
        await b.close();
      });

      /** Two apps on one pool; their stores never sweep, so only calls and timers move the pool. */
      async function twoInstances(): Promise<void> {
        const prefix = `cross-${(pools += 1)}:`;
        const settings = { keyTtlMs: 300_000, blockTtlMs: 60_000, maxKeys: 1000 };
        const storeOf = async (): Promise<RedisStore> => {
          const store = new RedisStore({ url: redis.url, prefix, settings, sweepIntervalMs: 3_600_000 });
          await store.connected();
          return store;
        };
        const env = { STORE: "redis", REDIS_URL: redis.url, REDIS_PREFIX: prefix };
        a = await startHarness({ env, store: await storeOf() });
        b = await startHarness({ env, store: await storeOf() });
      }

      it("a waiter on A is woken by a Release on B (the freed channel)", async () => {
        await twoInstances();
        const { keyId } = await b.client.create({});
        const held = await b.client.acquire({});
        const waiter = await queued(a, "grpc", () => a.client.acquire({ wait: ms(8000) }));
        await sleep(100);
        expect(waiter.settled, "nothing frees the key but B's release").to.equal(0);
        await b.client.release({ keyId, lease: held.lease });
        const got = await waiter.promise;
        expect(got.keyId).to.equal(keyId);
        expect(got.lease).to.be.greaterThan(held.lease);
        expect((await b.client.get({ keyId })).lease).to.equal(got.lease);
      });

      it("a waiter on A gets a key whose hold on B ends by time, with no instance touching the pool", async () => {
        await twoInstances();
        const { keyId } = await b.client.create({});
        const held = await b.client.acquire({ blockTtl: ms(1000) });
        const releaseAt = (held.releaseAt as Date).getTime();
        const waiter = await queued(a, "grpc", () => a.client.acquire({ wait: ms(5000) }));
        const got = await waiter.promise;
        const gotAt = Date.now();
        expect(got.keyId).to.equal(keyId);
        expect(got.lease).to.be.greaterThan(held.lease);
        expect(gotAt, "not before the hold ended").to.be.at.least(releaseAt);
        const state = await a.client.get({ keyId });
        expect(state.lease).to.equal(got.lease);
        expect((state.blockedAt as Date).getTime()).to.be.at.least(releaseAt);
      });
    });
  });
});
