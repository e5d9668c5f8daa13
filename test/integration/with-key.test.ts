import { once } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";
import { expect } from "chai";
import { Code, createTokenClient, KeyReleaseError, KeyState, LeaseLostError, type TokenClient, withKey, type WithKeyOptions } from "../../clients";
import { DomainError } from "../../src/core/errors";
import { MemoryStore } from "../../src/store/memory/memory-store";
import type { KeepAliveOptions, KeyStore, ReleaseOptions } from "../../src/store/port";
import { systemClock } from "../../src/platform/system-clock";
import { startHarness, type Harness } from "../support/harness";

/**
 * withKey ("Tools" in the API contract) against the whole app over real sockets, on the
 * system clock with short holds (BLOCK_TTL=1s) and renewals every 200 ms: every outcome
 * (return, throw, abort from outside, lease lost, server restart), and what each leaves
 * on the server, read back from its key-activity log (event + lease) and call log (code).
 */

const RELEASE = "/tokens.v1.TokenService/Release";
const ACQUIRE = "/tokens.v1.TokenService/Acquire";
const RENEW_EVERY_MS = 200;
/** Scheduling and round trips on a busy 2-core machine, on top of one renewal interval. */
const SLACK_MS = 250;
const seconds = (s: number) => ({ seconds: s, nanos: 0 });

/** Ref'd timers alive now: withKey must leave none behind in any outcome. */
const liveTimers = (): number => process.getActiveResourcesInfo().filter((resource) => resource === "Timeout").length;

/**
 * The ref'd timers, once the in-process server's own have settled (its sweeper and
 * connections arm and clear timers of their own): up to 300 ms, well under withKey's
 * renewal interval and hold, so a renewal or deadline timer left running still shows.
 */
async function settledTimers(atMost: number): Promise<number> {
  for (let waited = 0; liveTimers() > atMost && waited < 300; waited += 20) await sleep(20);
  return liveTimers();
}

type Line = Record<string, unknown>;
const keyEvents = (h: Harness, type: string): Line[] => h.logs.filter((line) => line["msg"] === "key event" && line["event"] === type);
const callCodes = (h: Harness, method: string): unknown[] => h.logs.filter((line) => line["msg"] === "call" && line["method"] === method).map((line) => line["code"]);

/** The rejection of a promise that must reject. */
async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection");
}

/** A promise and the function that resolves it. */
function latch<T = void>(): { promise: Promise<T>; open: (value: T) => void } {
  let open: (value: T) => void = () => undefined;
  const promise = new Promise<T>((resolve) => (open = resolve));
  return { promise, open };
}

/** Polls `check` until it is true or `ms` pass; says whether it became true. */
async function eventually(check: () => Promise<boolean>, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > until) return false;
    await sleep(20);
  }
}

describe("withKey: a key held for the length of a function (real server, real sockets)", function () {
  this.timeout(20_000);
  let h: Harness;
  let keyId: string;
  /** Every Release the store was asked for, as the service passed it on: the lease withKey sent is the one asserted. */
  let releases: { keyId: string; lease: number | undefined; cooldownMs: number | undefined }[];
  /** Store outages to simulate (as Redis down would answer): UNAVAILABLE for that call. */
  let down: { release: boolean; keepAlive: boolean };
  const outage = (): DomainError => new DomainError("unavailable", "the store is down (simulated)");
  const options = (extra: Partial<WithKeyOptions> = {}): WithKeyOptions => ({ client: h.client, renewEveryMs: RENEW_EVERY_MS, waitMs: 2000, ...extra });
  const stateOf = async (id = keyId) => (await h.client.get({ keyId: id })).state;

  /** A fresh app (holds of `blockTtlMs` by default) with one key in the pool, its store recording releases. */
  async function start(blockTtlMs = 1000): Promise<void> {
    const memory = new MemoryStore(systemClock, { keyTtlMs: 300_000, blockTtlMs, maxKeys: 100 });
    releases = [];
    down = { release: false, keepAlive: false };
    const store: KeyStore = Object.assign(Object.create(memory) as KeyStore, {
      release: async (id: string, given: ReleaseOptions = {}) => {
        releases.push({ keyId: id, lease: given.lease, cooldownMs: given.cooldownMs });
        if (down.release) throw outage();
        return memory.release(id, given);
      },
      keepAlive: async (id: string, given: KeepAliveOptions = {}) => {
        if (down.keepAlive) throw outage();
        return memory.keepAlive(id, given);
      },
    });
    h = await startHarness({ env: { BLOCK_TTL: `${blockTtlMs}ms` }, store });
    keyId = (await h.client.create({})).keyId;
  }
  afterEach(() => h?.close());

  describe("fn returns", () => {
    it("hands fn the key and its lease while LEASED, returns fn's value, and releases with that lease", async () => {
      await start();
      const timers = liveTimers();
      let seen: { keyId: string; lease: number; state: KeyState | undefined; lease2: number | undefined; aborted: boolean } | undefined;
      const value = await withKey(async (held) => {
        const state = await h.client.get({ keyId: held.keyId });
        seen = { keyId: held.keyId, lease: held.lease, state: state.state, lease2: state.lease, aborted: held.signal.aborted };
        return { answer: 42 };
      }, options());
      expect(value).to.deep.equal({ answer: 42 });
      expect(seen?.keyId).to.equal(keyId);
      expect(seen?.lease).to.be.greaterThan(0);
      expect(seen?.state).to.equal(KeyState.LEASED);
      expect(seen?.lease2, "fn's lease is the key's current lease").to.equal(seen?.lease);
      expect(seen?.aborted).to.equal(false);
      expect(await stateOf()).to.equal(KeyState.AVAILABLE);
      expect(releases).to.deep.equal([{ keyId, lease: seen?.lease, cooldownMs: undefined }]);
      expect(keyEvents(h, "RELEASED").map((line) => line["lease"])).to.deep.equal([seen?.lease]);
      expect(callCodes(h, RELEASE)).to.deep.equal([Code.OK]);
      expect(await settledTimers(timers), "no timer left running").to.be.at.most(timers);
    });

    it("releases into the cooldown asked for", async () => {
      await start();
      const lease = await withKey(async (held) => held.lease, options({ cooldownMs: 5000 }));
      const state = await h.client.get({ keyId });
      expect(state.state).to.equal(KeyState.COOLING);
      expect(state.releaseAt!.getTime() - Date.now()).to.be.within(4000, 5000);
      expect(releases).to.deep.equal([{ keyId, lease, cooldownMs: 5000 }]);
      expect(keyEvents(h, "COOLDOWN_STARTED").map((line) => line["lease"])).to.deep.equal([lease]);
    });
  });

  describe("the release fails", () => {
    it("UNAVAILABLE after fn returned: rejects with a KeyReleaseError that carries the code and fn's value", async () => {
      await start();
      const error = await rejectionOf(
        withKey(async () => {
          down.release = true;
          return "the work is done";
        }, options()),
      );
      expect(error).to.be.instanceOf(KeyReleaseError);
      expect((error as KeyReleaseError).code).to.equal(Code.UNAVAILABLE);
      expect((error as KeyReleaseError).result).to.equal("the work is done");
      expect(callCodes(h, RELEASE)).to.deep.equal([Code.UNAVAILABLE]);
    });

    it("after fn threw, fn's error wins", async () => {
      await start();
      const thrown = new Error("fn failed");
      const error = await rejectionOf(
        withKey(async () => {
          down.release = true;
          throw thrown;
        }, options()),
      );
      expect(error).to.equal(thrown);
      expect(callCodes(h, RELEASE)).to.deep.equal([Code.UNAVAILABLE]);
    });
  });

  describe("fn throws", () => {
    it("rethrows fn's own error and releases the key with its lease", async () => {
      await start();
      const timers = liveTimers();
      const thrown = new Error("upstream said no");
      let lease = 0;
      const error = await rejectionOf(
        withKey(async (held) => {
          lease = held.lease;
          await sleep(RENEW_EVERY_MS * 2); // a renewal or two under way when it throws
          throw thrown;
        }, options()),
      );
      expect(error).to.equal(thrown);
      expect(await stateOf()).to.equal(KeyState.AVAILABLE);
      expect(releases).to.deep.equal([{ keyId, lease, cooldownMs: undefined }]);
      expect(keyEvents(h, "RELEASED").map((line) => line["lease"])).to.deep.equal([lease]);
      expect(callCodes(h, RELEASE)).to.deep.equal([Code.OK]);
      expect(await settledTimers(timers), "no timer left running").to.be.at.most(timers);
    });

    it("a synchronous throw too", async () => {
      await start();
      const thrown = new TypeError("not even async");
      const error = await rejectionOf(
        withKey(() => {
          throw thrown;
        }, options()),
      );
      expect(error).to.equal(thrown);
      expect(await stateOf()).to.equal(KeyState.AVAILABLE);
      expect(callCodes(h, RELEASE)).to.deep.equal([Code.OK]);
    });
  });

  describe("abort from outside", () => {
    it("aborts fn's signal with the reason, waits for fn, releases with the lease, and rejects with the reason", async () => {
      await start();
      const timers = liveTimers();
      const outside = new AbortController();
      const reason = new Error("the caller gave up");
      const started = latch();
      const order: string[] = [];
      let lease = 0;
      let fnSaw: unknown;
      const running = withKey(async (held) => {
        lease = held.lease;
        started.open();
        await once(held.signal, "abort");
        fnSaw = held.signal.reason;
        await sleep(100); // fn takes a moment to stop: withKey must wait for it before releasing
        order.push(`fn stopped, key ${await stateOf()}`);
        return "finished anyway";
      }, options({ signal: outside.signal }));
      await started.promise;
      await sleep(RENEW_EVERY_MS * 2);
      outside.abort(reason);
      const error = await rejectionOf(running);
      expect(error, "withKey rejects with the abort reason, even though fn returned").to.equal(reason);
      expect(fnSaw).to.equal(reason);
      expect(order).to.deep.equal([`fn stopped, key ${KeyState.LEASED}`]);
      expect(await stateOf()).to.equal(KeyState.AVAILABLE);
      expect(releases).to.deep.equal([{ keyId, lease, cooldownMs: undefined }]);
      expect(keyEvents(h, "RELEASED").map((line) => line["lease"])).to.deep.equal([lease]);
      expect(await settledTimers(timers), "no timer left running").to.be.at.most(timers);
    });

    it("an already aborted signal: nothing acquired, fn never called", async () => {
      await start();
      const reason = new Error("too late");
      let called = false;
      const error = await rejectionOf(
        withKey(
          async () => {
            called = true;
          },
          options({ signal: AbortSignal.abort(reason) }),
        ),
      );
      expect(error).to.equal(reason);
      expect(called).to.equal(false);
      expect(callCodes(h, ACQUIRE)).to.deep.equal([]);
    });

    it("aborted while waiting for a key: rejects at once, and the key the wait still gets is given back with its lease", async () => {
      await start(10_000);
      const blocker = await h.client.acquire({});
      const outside = new AbortController();
      let called = false;
      const running = withKey(
        async () => {
          called = true;
        },
        options({ signal: outside.signal, waitMs: 5000 }),
      );
      await sleep(200);
      const reason = new Error("stop waiting");
      const abortedAt = Date.now();
      outside.abort(reason);
      expect(await rejectionOf(running)).to.equal(reason);
      expect(Date.now() - abortedAt, "rejects without waiting for the key").to.be.lessThan(100);
      // The server-side wait goes on (the promise client cannot cancel a unary call): free the
      // key, the wait gets it, and withKey must hand it straight back, not keep it for 10 s.
      await h.client.release({ keyId, lease: blocker.lease });
      expect(await eventually(async () => keyEvents(h, "ACQUIRED").length === 2 && (await stateOf()) === KeyState.AVAILABLE, 2000)).to.equal(true);
      const second = keyEvents(h, "ACQUIRED")[1]?.["lease"];
      expect(keyEvents(h, "RELEASED").map((line) => line["lease"])).to.deep.equal([blocker.lease, second]);
      expect(called).to.equal(false);
    });
  });

  describe("options", () => {
    it("a nonsensical duration is a RangeError before anything is asked of the service", async () => {
      await start();
      for (const bad of [{ renewEveryMs: 0 }, { renewEveryMs: Number.NaN }, { waitMs: -1 }, { blockTtlMs: 0 }, { cooldownMs: Number.POSITIVE_INFINITY }]) {
        const error = await rejectionOf(withKey(async () => "never", options(bad)));
        expect(error, JSON.stringify(bad)).to.be.instanceOf(RangeError);
      }
      expect(callCodes(h, ACQUIRE)).to.deep.equal([]);
    });
  });

  describe("acquire fails", () => {
    it("no key within the wait: rejects with the acquire's NOT_FOUND, fn never called", async () => {
      await start();
      await h.client.acquire({});
      let called = false;
      const began = Date.now();
      const error = await rejectionOf(
        withKey(
          async () => {
            called = true;
          },
          options({ waitMs: 300 }),
        ),
      );
      expect((error as { code?: number }).code).to.equal(Code.NOT_FOUND);
      expect(Date.now() - began, "it did wait").to.be.at.least(290);
      expect(called).to.equal(false);
      expect(callCodes(h, RELEASE)).to.deep.equal([]);
    });
  });

  describe("lease lost", () => {
    it("the key deleted by an admin mid-function: signal aborts (NOT_FOUND) within one renewal interval; withKey rejects with that LeaseLostError", async () => {
      await start();
      const timers = liveTimers();
      const started = latch();
      let deletedAt = 0;
      let abortedAt = 0;
      let reason: unknown;
      const running = withKey(async (held) => {
        held.signal.addEventListener("abort", () => {
          abortedAt = Date.now();
          reason = held.signal.reason;
        });
        started.open();
        await once(held.signal, "abort");
        return "done without the key";
      }, options());
      await started.promise;
      await sleep(RENEW_EVERY_MS * 1.5); // mid-interval
      deletedAt = Date.now();
      await h.client.delete({ keyId });
      const error = await rejectionOf(running);
      const latency = abortedAt - deletedAt;
      expect(latency, `delete → abort took ${latency} ms`).to.be.within(0, RENEW_EVERY_MS + SLACK_MS);
      expect(reason).to.be.instanceOf(LeaseLostError);
      expect((reason as LeaseLostError).code).to.equal(Code.NOT_FOUND);
      expect(error, "rejects with the signal's reason, though fn returned").to.equal(reason);
      // Released with the lease anyway: the key is gone, so NOT_FOUND, harmlessly.
      expect(callCodes(h, RELEASE)).to.deep.equal([Code.NOT_FOUND]);
      expect(releases.map((r) => r.lease)).to.deep.equal([(reason as LeaseLostError).lease]);
      expect(await settledTimers(timers), "no timer left running").to.be.at.most(timers);
    });

    it("the hold ran out (renewal stalled) and another caller took the key: signal aborts at releaseAt, and withKey never releases the other holder's key", async () => {
      await start();
      const started = latch<Date>();
      const otherHolds = latch();
      let abortedAt = 0;
      let reason: unknown;
      let ours = 0;
      const running = withKey(
        async (held) => {
          ours = held.lease;
          held.signal.addEventListener("abort", () => {
            abortedAt = Date.now();
            reason = held.signal.reason;
          });
          started.open((await h.client.get({ keyId: held.keyId })).releaseAt!);
          await once(held.signal, "abort");
          await otherHolds.promise; // go on until the key is someone else's: the worst moment to release it
          return "late";
        },
        options({ renewEveryMs: 5000 }), // renewals stalled: none before the 1 s hold runs out
      );
      const releaseAt = await started.promise;
      const other = await h.client.acquire({ wait: seconds(3) }); // the same key, the moment our hold ends
      expect(other.keyId).to.equal(keyId);
      expect(other.lease).to.be.greaterThan(ours);
      otherHolds.open();
      const error = await rejectionOf(running);
      expect(reason).to.be.instanceOf(LeaseLostError);
      expect((reason as LeaseLostError).code).to.equal(Code.DEADLINE_EXCEEDED);
      expect(error).to.equal(reason);
      expect(abortedAt - releaseAt.getTime(), "aborted when the hold ended, not before and not long after").to.be.within(-50, SLACK_MS);
      // withKey released with its own lease, which the server refused: the other hold stands.
      expect(callCodes(h, RELEASE)).to.deep.equal([Code.ABORTED]);
      expect(releases.map((r) => r.lease)).to.deep.equal([ours]);
      const state = await h.client.get({ keyId });
      expect(state.state).to.equal(KeyState.LEASED);
      expect(state.lease).to.equal(other.lease);
      await h.client.release({ keyId, lease: other.lease });
      expect(callCodes(h, RELEASE)).to.deep.equal([Code.ABORTED, Code.OK]);
    });

    it("the key taken from under it (released without a lease, acquired by another): the next renewal answers ABORTED and signal aborts", async () => {
      await start(10_000);
      const started = latch();
      let takenAt = 0;
      let abortedAt = 0;
      const running = withKey(async (held) => {
        started.open();
        await once(held.signal, "abort");
        abortedAt = Date.now();
        throw new Error("fn noticed");
      }, options());
      await started.promise;
      await h.client.release({ keyId }); // a v1-style release: no lease, so not fenced
      const other = await h.client.acquire({});
      takenAt = Date.now();
      const error = await rejectionOf(running);
      expect(error).to.be.instanceOf(LeaseLostError);
      expect((error as LeaseLostError).code).to.equal(Code.ABORTED);
      expect(abortedAt - takenAt).to.be.within(0, RENEW_EVERY_MS + SLACK_MS);
      expect(callCodes(h, RELEASE)).to.deep.equal([Code.OK, Code.ABORTED]); // ours (no lease), then withKey's, refused
      expect((await h.client.get({ keyId })).lease).to.equal(other.lease);
    });
  });

  describe("renewals", () => {
    it("a renewal answered UNAVAILABLE (store down) is retried, not a loss; an outage longer than the hold is (DEADLINE_EXCEEDED)", async () => {
      await start();
      const started = latch();
      let reason: unknown;
      let abortedAt = 0;
      let lease = 0;
      const running = withKey(async (held) => {
        lease = held.lease;
        started.open();
        await once(held.signal, "abort");
        abortedAt = Date.now();
        reason = held.signal.reason;
      }, options());
      await started.promise;
      await sleep(RENEW_EVERY_MS * 2);
      // A short outage (half a hold): renewals fail, then succeed again; nothing aborts.
      down.keepAlive = true;
      await sleep(500);
      down.keepAlive = false;
      await sleep(RENEW_EVERY_MS * 3);
      expect(reason, "a short outage is not a lost lease").to.equal(undefined);
      const held = await h.client.get({ keyId });
      expect(held.lease).to.equal(lease);
      // A long one: the server's hold runs out, and withKey says so when it does.
      const lastRenewed = Date.now();
      down.keepAlive = true;
      const error = await rejectionOf(running);
      expect(error).to.be.instanceOf(LeaseLostError);
      expect((error as LeaseLostError).code).to.equal(Code.DEADLINE_EXCEEDED);
      expect((error as LeaseLostError).message).to.contain("UNAVAILABLE");
      expect(abortedAt - lastRenewed, "within a hold of the last answered renewal").to.be.within(1000 - RENEW_EVERY_MS - SLACK_MS, 1000 + 50);
      expect(error).to.equal(reason);
    });


    it("a function that runs for several holds keeps the key: LEASED under its lease, releaseAt moving forward (default interval: a third of the hold)", async () => {
      await start();
      let lease = 0;
      const seen: { state: KeyState | undefined; lease: number | undefined; releaseAt: number }[] = [];
      const value = await withKey(
        async (held) => {
          lease = held.lease;
          for (let i = 0; i < 7; i += 1) {
            await sleep(450);
            const state = await h.client.get({ keyId: held.keyId });
            seen.push({ state: state.state, lease: state.lease, releaseAt: state.releaseAt?.getTime() ?? Number.NaN });
          }
          return held.signal.aborted;
        },
        { client: h.client, waitMs: 1000 }, // renewEveryMs left to its default
      );
      expect(value, "never aborted").to.equal(false);
      expect(seen.every((s) => s.state === KeyState.LEASED && s.lease === lease), JSON.stringify(seen)).to.equal(true);
      for (let i = 1; i < seen.length; i += 1) expect(seen[i]!.releaseAt, "releaseAt moves forward").to.be.greaterThan(seen[i - 1]!.releaseAt);
      const renewals = keyEvents(h, "KEPT_ALIVE").filter((line) => line["lease"] === lease);
      // 3.15 s at one renewal per ~333 ms: about 9 (a third of a hold that is 1 s at most).
      expect(renewals.length).to.be.within(7, 11);
      expect(await stateOf()).to.equal(KeyState.AVAILABLE);
    });

    it("survives a server restart: the renewal reconnects on a fresh stream and the hold is kept", async () => {
      // One store for both apps (a restart that keeps state, as Redis would): its close is a
      // no-op for the apps, and the test stops it at the end.
      const memory = new MemoryStore(systemClock, { keyTtlMs: 60_000, blockTtlMs: 3000, maxKeys: 10 });
      const store: KeyStore = Object.assign(Object.create(memory) as KeyStore, { close: async () => undefined });
      const env = { BLOCK_TTL: "3s", SHUTDOWN_GRACE: "100ms" };
      const first = await startHarness({ env, store });
      h = first;
      const client: TokenClient = createTokenClient(first.app.grpcAddress);
      try {
        keyId = (await first.client.create({})).keyId;
        const started = latch();
        const finish = latch();
        let lease = 0;
        const running = withKey(async (held) => {
          lease = held.lease;
          started.open();
          await finish.promise;
          return held.signal.aborted;
        }, { client, renewEveryMs: RENEW_EVERY_MS, waitMs: 1000 });
        await started.promise;
        await sleep(RENEW_EVERY_MS * 2);
        const stoppedAt = Date.now();
        await first.close(); // the stream in flight is cut when the 100 ms grace ends
        await sleep(500); // down for a while: renewals meanwhile are refused (UNAVAILABLE) and retried
        h = await startHarness({ env: { ...env, GRPC_PORT: String(first.app.grpcPort) }, store });
        expect(h.app.grpcPort).to.equal(first.app.grpcPort);
        // Past a whole hold after the stop: without renewals through the new server the key
        // would be AVAILABLE by now, and withKey would have aborted fn.
        await sleep(Math.max(0, stoppedAt + 3500 - Date.now()));
        const state = await h.client.get({ keyId });
        expect(state.state).to.equal(KeyState.LEASED);
        expect(state.lease).to.equal(lease);
        expect(state.releaseAt!.getTime() - Date.now()).to.be.within(3000 - RENEW_EVERY_MS - SLACK_MS, 3000);
        expect(keyEvents(h, "KEPT_ALIVE").filter((line) => line["lease"] === lease).length, "renewals reached the new server").to.be.at.least(3);
        finish.open();
        expect(await running, "fn's signal was never aborted").to.equal(false);
        expect(await stateOf()).to.equal(KeyState.AVAILABLE);
        expect(keyEvents(h, "RELEASED").map((line) => line["lease"])).to.deep.equal([lease]);
      } finally {
        client.close();
        await memory.close();
      }
    });
  });
});
