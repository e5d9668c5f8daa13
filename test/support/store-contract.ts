/**
 * The lifecycle rules of the contract (/work/shared/api-contract.md, "Lifecycle
 * rules"), written only against the async KeyStore port so every backend runs
 * the same suite. Time comes from an injected ManualClock; nothing sleeps.
 */
import { expect } from "chai";
import fc from "fast-check";
import { type DomainErrorKind, isDomainError } from "../../src/core/errors";
import type { PoolSettings } from "../../src/core/key-pool";
import type { KeyRecord, KeyStore, StoreKeyEvent } from "../../src/store/port";
import { ManualClock } from "./manual-clock";

export interface StoreUnderTest {
  readonly store: KeyStore;
  /**
   * Runs the store's background reclamation once, now (the memory sweeper's slices,
   * Redis's sweep script). Stores under test run no sweeper on their own, so the
   * suite decides when one happens; it must never change what a caller sees.
   */
  readonly sweep: () => Promise<number>;
  readonly cleanup?: () => Promise<void>;
}

export type MakeStore = (clock: ManualClock, settings: PoolSettings) => Promise<StoreUnderTest>;

const KEY_TTL = 1000;
const BLOCK_TTL = 300;
/** The ceilings asked lifetimes, holds and cooldowns are clamped to. */
const MAX_KEY_TTL = 5000;
const MAX_BLOCK_TTL = 2000;
const SETTINGS: PoolSettings = { keyTtlMs: KEY_TTL, blockTtlMs: BLOCK_TTL, maxKeys: 1000, maxKeyTtlMs: MAX_KEY_TTL, maxBlockTtlMs: MAX_BLOCK_TTL };
const URL_SAFE = /^[A-Za-z0-9_-]+$/;
/** A well-formed id no store ever made (ids are random; this one has a dot in it). */
const UNKNOWN_ID = "no.such.key.0000000000";

/** Awaits a call that must fail with a DomainError of the given kind. */
export async function expectKind(call: Promise<unknown>, kind: DomainErrorKind): Promise<void> {
  let outcome: unknown;
  try {
    outcome = await call;
  } catch (error) {
    if (!isDomainError(error)) throw error;
    expect(error.kind, error.message).to.equal(kind);
    return;
  }
  expect.fail(`expected DomainError "${kind}", got ${JSON.stringify(outcome)}`);
}

/** Only the record's own fields, so a backend (or the model) may carry more. */
function plain(record: KeyRecord): KeyRecord {
  const { keyId, createdAt, expiresAt, blockedAt, releaseAt, state, ttlMs, lease } = record;
  return { keyId, createdAt, expiresAt, blockedAt, releaseAt, state, ttlMs, lease };
}

/** The v1 fields: what the v1 rules say of a record, whatever v2 added. */
function v1(record: KeyRecord): Pick<KeyRecord, "keyId" | "createdAt" | "expiresAt" | "blockedAt" | "releaseAt"> {
  const { keyId, createdAt, expiresAt, blockedAt, releaseAt } = record;
  return { keyId, createdAt, expiresAt, blockedAt, releaseAt };
}

export function describeStoreContract(name: string, makeStore: MakeStore): void {
  describe(`KeyStore contract: ${name}`, () => {
    let clock: ManualClock;
    let t0: number;
    let cleanups: (() => Promise<void>)[];

    /** A fresh store on the shared clock; closed after the test. */
    async function open(overrides: Partial<PoolSettings> = {}): Promise<KeyStore> {
      return (await openWithSweep(overrides)).store;
    }

    async function openWithSweep(overrides: Partial<PoolSettings> = {}): Promise<StoreUnderTest> {
      const opened = await makeStore(clock, { ...SETTINGS, ...overrides });
      cleanups.push(async () => {
        await opened.cleanup?.();
        await opened.store.close(); // idempotent by the port's contract
      });
      return opened;
    }

    /** Moves the clock to an absolute time (never backwards). */
    function at(time: number): void {
      expect(time, "tests only move time forwards").to.be.at.least(clock.now());
      clock.set(time);
    }

    beforeEach(() => {
      clock = new ManualClock();
      t0 = clock.now();
      cleanups = [];
    });

    afterEach(async () => {
      for (const cleanup of cleanups) await cleanup();
    });

    describe("create", () => {
      it("makes an available key: createdAt = now, expiresAt = now + KEY_TTL, not blocked", async () => {
        const store = await open();
        const created = await store.create();
        expect(v1(created)).to.deep.equal({
          keyId: created.keyId,
          createdAt: t0,
          expiresAt: t0 + KEY_TTL,
          blockedAt: null,
          releaseAt: null,
        });
        expect(v1(await store.get(created.keyId))).to.deep.equal(v1(created));
      });

      it("makes distinct URL-safe ids of at least 22 characters (128 bits)", async () => {
        const store = await open();
        const ids = new Set<string>();
        for (let i = 0; i < 200; i += 1) {
          const { keyId } = await store.create();
          expect(keyId).to.match(URL_SAFE);
          expect(keyId.length).to.be.at.least(22);
          ids.add(keyId);
        }
        expect(ids.size).to.equal(200);
      });
    });

    describe("acquire", () => {
      it("blocks the key: blockedAt = now, releaseAt = now + BLOCK_TTL, expiresAt unchanged", async () => {
        const store = await open();
        const created = await store.create();
        at(t0 + 100);
        const acquired = await store.acquire();
        const expected = { ...v1(created), blockedAt: t0 + 100, releaseAt: t0 + 100 + BLOCK_TTL };
        expect(v1(acquired)).to.deep.equal(expected);
        expect(v1(await store.get(created.keyId))).to.deep.equal(expected);
      });

      it("fails with no_available_key when the pool is empty", async () => {
        const store = await open();
        await expectKind(store.acquire(), "no_available_key");
      });

      it("fails with no_available_key when every key is blocked, and hands out each key once", async () => {
        const store = await open();
        const ids = new Set([(await store.create()).keyId, (await store.create()).keyId]);
        const handedOut = new Set([(await store.acquire()).keyId, (await store.acquire()).keyId]);
        expect(handedOut).to.deep.equal(ids);
        await expectKind(store.acquire(), "no_available_key");
      });
    });

    describe("release", () => {
      it("makes a blocked key available and clears blockedAt/releaseAt", async () => {
        const store = await open();
        const created = await store.create();
        await store.acquire();
        at(t0 + 50);
        expect(v1(await store.release(created.keyId))).to.deep.equal(v1(created));
        expect(v1(await store.get(created.keyId))).to.deep.equal(v1(created));
        expect((await store.acquire()).keyId).to.equal(created.keyId);
      });

      it("of an available key succeeds and changes nothing", async () => {
        const store = await open();
        const created = await store.create();
        at(t0 + 10);
        expect(v1(await store.release(created.keyId))).to.deep.equal(v1(created));
        expect(v1(await store.get(created.keyId))).to.deep.equal(v1(created));
      });
    });

    describe("keepAlive", () => {
      it("sets expiresAt = now + KEY_TTL on an available key", async () => {
        const store = await open();
        const created = await store.create();
        at(t0 + 400);
        const kept = await store.keepAlive(created.keyId);
        expect(v1(kept)).to.deep.equal({ ...v1(created), expiresAt: t0 + 400 + KEY_TTL });
        expect(v1(await store.get(created.keyId))).to.deep.equal(v1(kept));
      });

      it("sets expiresAt = now + KEY_TTL on a blocked key and does not unblock it", async () => {
        const store = await open();
        const created = await store.create();
        const acquired = await store.acquire();
        at(t0 + 100);
        const kept = await store.keepAlive(created.keyId);
        expect(v1(kept)).to.deep.equal({ ...v1(acquired), expiresAt: t0 + 100 + KEY_TTL });
        await expectKind(store.acquire(), "no_available_key");
      });
    });

    describe("delete", () => {
      it("removes an available key", async () => {
        const store = await open();
        const { keyId } = await store.create();
        await store.delete(keyId);
        await expectKind(store.get(keyId), "not_found");
      });

      it("removes a blocked key", async () => {
        const store = await open();
        const { keyId } = await store.create();
        await store.acquire();
        await store.delete(keyId);
        await expectKind(store.get(keyId), "not_found");
        await expectKind(store.release(keyId), "not_found");
      });

      it("leaves a deleted key not_found for every operation, and never hands it out", async () => {
        const store = await open();
        const { keyId } = await store.create();
        await store.delete(keyId);
        await expectKind(store.get(keyId), "not_found");
        await expectKind(store.release(keyId), "not_found");
        await expectKind(store.keepAlive(keyId), "not_found");
        await expectKind(store.delete(keyId), "not_found");
        await expectKind(store.acquire(), "no_available_key");
      });

      it("of one key leaves the others alone", async () => {
        const store = await open();
        const a = await store.create();
        const b = await store.create();
        await store.delete(a.keyId);
        expect(v1(await store.get(b.keyId))).to.deep.equal(v1(b));
      });
    });

    it("answers not_found for an unknown id on every keyed operation", async () => {
      const store = await open();
      await store.create();
      await expectKind(store.get(UNKNOWN_ID), "not_found");
      await expectKind(store.release(UNKNOWN_ID), "not_found");
      await expectKind(store.keepAlive(UNKNOWN_ID), "not_found");
      await expectKind(store.delete(UNKNOWN_ID), "not_found");
    });

    describe("release_at boundary (key acquired at t0, releaseAt = t0 + BLOCK_TTL)", () => {
      /** A store holding one key, blocked at t0. */
      async function blockedKey(): Promise<{ store: KeyStore; created: KeyRecord; releaseAt: number }> {
        const store = await open();
        const created = await store.create();
        const acquired = await store.acquire();
        expect(acquired.releaseAt).to.equal(t0 + BLOCK_TTL);
        return { store, created, releaseAt: t0 + BLOCK_TTL };
      }

      it("get: blocked at releaseAt - 1, available at releaseAt", async () => {
        const { store, created, releaseAt } = await blockedKey();
        at(releaseAt - 1);
        expect(v1(await store.get(created.keyId))).to.deep.include({ blockedAt: t0, releaseAt });
        at(releaseAt);
        expect(v1(await store.get(created.keyId))).to.deep.equal(v1(created));
      });

      it("acquire: nothing available at releaseAt - 1, the key is handed out again at releaseAt", async () => {
        const { store, created, releaseAt } = await blockedKey();
        at(releaseAt - 1);
        await expectKind(store.acquire(), "no_available_key");
        at(releaseAt);
        const again = await store.acquire();
        expect(v1(again)).to.deep.equal({ ...v1(created), blockedAt: releaseAt, releaseAt: releaseAt + BLOCK_TTL });
      });

      it("release: unblocks at releaseAt - 1, and at releaseAt finds the key already available", async () => {
        const { store, created, releaseAt } = await blockedKey();
        const second = await store.create();
        await store.acquire(); // also blocked until releaseAt
        at(releaseAt - 1);
        expect(v1(await store.release(created.keyId))).to.deep.equal(v1(created));
        expect(v1(await store.get(second.keyId))).to.deep.include({ blockedAt: t0, releaseAt });
        at(releaseAt);
        expect(v1(await store.release(second.keyId))).to.deep.equal(v1(second));
      });

      it("keepAlive: still blocked at releaseAt - 1, available at releaseAt (both extend expiresAt)", async () => {
        const { store, created, releaseAt } = await blockedKey();
        at(releaseAt - 1);
        expect(v1(await store.keepAlive(created.keyId))).to.deep.equal({
          ...v1(created),
          expiresAt: releaseAt - 1 + KEY_TTL,
          blockedAt: t0,
          releaseAt,
        });
        at(releaseAt);
        expect(v1(await store.keepAlive(created.keyId))).to.deep.equal({
          ...v1(created),
          expiresAt: releaseAt + KEY_TTL,
        });
      });

      it("delete: works on the blocked key at releaseAt - 1 and on the released key at releaseAt", async () => {
        const { store, created, releaseAt } = await blockedKey();
        const second = await store.create();
        await store.acquire();
        at(releaseAt - 1);
        await store.delete(created.keyId);
        await expectKind(store.get(created.keyId), "not_found");
        at(releaseAt);
        await store.delete(second.keyId);
        await expectKind(store.get(second.keyId), "not_found");
        await expectKind(store.acquire(), "no_available_key");
      });
    });

    describe("expires_at boundary (key created at t0, expiresAt = t0 + KEY_TTL)", () => {
      const expiresAt = () => t0 + KEY_TTL;

      it("get: present at expiresAt - 1, not_found at expiresAt", async () => {
        const store = await open();
        const created = await store.create();
        at(expiresAt() - 1);
        expect(v1(await store.get(created.keyId))).to.deep.equal(v1(created));
        at(expiresAt());
        await expectKind(store.get(created.keyId), "not_found");
      });

      it("acquire: hands the key out at expiresAt - 1, but not at expiresAt", async () => {
        const store = await open();
        const created = await store.create();
        at(expiresAt() - 1);
        expect((await store.acquire()).keyId).to.equal(created.keyId);
        await store.release(created.keyId);
        at(expiresAt());
        await expectKind(store.acquire(), "no_available_key");
      });

      it("release: succeeds at expiresAt - 1, not_found at expiresAt", async () => {
        const store = await open();
        const created = await store.create();
        at(expiresAt() - 1);
        await store.acquire();
        expect(v1(await store.release(created.keyId))).to.deep.equal(v1(created));
        at(expiresAt());
        await expectKind(store.release(created.keyId), "not_found");
      });

      it("keepAlive: extends at expiresAt - 1, not_found at expiresAt", async () => {
        const store = await open();
        const a = await store.create();
        const b = await store.create();
        at(expiresAt() - 1);
        expect((await store.keepAlive(a.keyId)).expiresAt).to.equal(expiresAt() - 1 + KEY_TTL);
        at(expiresAt());
        await expectKind(store.keepAlive(b.keyId), "not_found");
        expect(v1(await store.get(a.keyId))).to.deep.equal({ ...v1(a), expiresAt: expiresAt() - 1 + KEY_TTL });
      });

      it("delete: succeeds at expiresAt - 1, not_found at expiresAt", async () => {
        const store = await open();
        const a = await store.create();
        const b = await store.create();
        at(expiresAt() - 1);
        await store.delete(a.keyId);
        at(expiresAt());
        await expectKind(store.delete(b.keyId), "not_found");
      });

      it("a blocked key expires too, even before its release_at", async () => {
        const store = await open();
        const created = await store.create();
        at(expiresAt() - 100);
        const acquired = await store.acquire();
        expect(acquired.releaseAt).to.be.greaterThan(expiresAt()); // blocked past its expiry
        at(expiresAt() - 1);
        expect(v1(await store.get(created.keyId))).to.deep.include({ blockedAt: expiresAt() - 100 });
        at(expiresAt());
        await expectKind(store.get(created.keyId), "not_found");
        await expectKind(store.release(created.keyId), "not_found");
        at(acquired.releaseAt as number);
        await expectKind(store.acquire(), "no_available_key");
      });
    });

    describe("stale deadlines", () => {
      it("a key released and re-acquired is not released at the first acquisition's release_at", async () => {
        const store = await open();
        const { keyId } = await store.create();
        await store.acquire(); // first releaseAt: t0 + 300
        at(t0 + 100);
        await store.release(keyId);
        at(t0 + 200);
        const second = await store.acquire(); // second releaseAt: t0 + 500
        expect(second.releaseAt).to.equal(t0 + 200 + BLOCK_TTL);
        at(t0 + BLOCK_TTL);
        await expectKind(store.acquire(), "no_available_key");
        expect(v1(await store.get(keyId))).to.deep.include({ blockedAt: t0 + 200, releaseAt: t0 + 500 });
        at(t0 + 499);
        await expectKind(store.acquire(), "no_available_key");
        at(t0 + 500);
        expect(v1(await store.get(keyId))).to.deep.include({ blockedAt: null, releaseAt: null });
      });

      it("a key kept alive does not expire at its old expires_at", async () => {
        const store = await open();
        const created = await store.create();
        at(t0 + 500);
        await store.keepAlive(created.keyId); // expiresAt: t0 + 1500
        at(t0 + KEY_TTL);
        expect(v1(await store.get(created.keyId))).to.deep.equal({ ...v1(created), expiresAt: t0 + 1500 });
        at(t0 + 1499);
        expect((await store.acquire()).keyId).to.equal(created.keyId);
        at(t0 + 1500);
        await expectKind(store.get(created.keyId), "not_found");
      });

      it("an expired key is never handed out by acquire", async () => {
        const store = await open();
        await store.create(); // expires at t0 + 1000
        at(t0 + 500);
        const young = await store.create(); // expires at t0 + 1500
        at(t0 + KEY_TTL);
        // Whatever the random pick, only the young key may come out; then nothing.
        expect((await store.acquire()).keyId).to.equal(young.keyId);
        await expectKind(store.acquire(), "no_available_key");
      });

      it("many expired keys among one live key: acquire always returns the live one", async () => {
        const store = await open();
        for (let i = 0; i < 50; i += 1) await store.create();
        at(t0 + 1);
        const live = await store.create();
        at(t0 + KEY_TTL);
        expect((await store.acquire()).keyId).to.equal(live.keyId);
        await expectKind(store.acquire(), "no_available_key");
      });
    });

    describe("capacity", () => {
      it("refuses the N+1th create with capacity_exhausted", async () => {
        const store = await open({ maxKeys: 3 });
        for (let i = 0; i < 3; i += 1) await store.create();
        await expectKind(store.create(), "capacity_exhausted");
      });

      it("counts blocked keys and frees a slot on delete", async () => {
        const store = await open({ maxKeys: 2 });
        const a = await store.create();
        await store.create();
        await store.acquire();
        await expectKind(store.create(), "capacity_exhausted");
        await store.delete(a.keyId);
        expect((await store.create()).createdAt).to.equal(t0);
      });

      it("frees a slot exactly when a key expires (no read needed first)", async () => {
        const store = await open({ maxKeys: 2 });
        await store.create(); // expires at t0 + 1000
        at(t0 + 10);
        await store.create(); // expires at t0 + 1010
        at(t0 + KEY_TTL - 1);
        await expectKind(store.create(), "capacity_exhausted");
        at(t0 + KEY_TTL);
        const fresh = await store.create();
        expect(fresh.createdAt).to.equal(t0 + KEY_TTL);
        await expectKind(store.create(), "capacity_exhausted");
      });
    });

    describe("bounded work (deadline budget 4)", () => {
      const BUDGET = 4;

      it("acquire applies at most the budget of passed releases, earliest first, and draws among them", async () => {
        const store = await open({ deadlineBudget: BUDGET });
        for (let i = 0; i < 20; i += 1) await store.create();
        // One acquire a millisecond: the holds end at t0 + 300 … t0 + 319, in this order.
        const order: string[] = [];
        for (let i = 0; i < 20; i += 1) {
          at(t0 + i);
          order.push((await store.acquire()).keyId);
        }
        at(t0 + 19 + BLOCK_TTL); // all 20 releases have passed, none applied yet
        expect(await store.counts()).to.deep.equal({ total: 20, available: 0, leased: 20, cooling: 0 });
        for (let k = 1; k <= 5; k += 1) {
          // One Acquire per event-loop turn, as calls arrive from the network: the memory
          // store shares one budget among all calls of a turn (tested below).
          await new Promise((resolve) => setImmediate(resolve));
          const got = await store.acquire();
          // The k-th acquire has applied the 4k earliest releases, so it drew among those keys.
          expect(order.slice(0, BUDGET * k), `acquire ${k}`).to.include(got.keyId);
          expect((await store.counts()).leased, `after acquire ${k}`).to.equal(20 - BUDGET * k + k);
        }
        // The backlog is gone: the 15 keys not re-acquired are available.
        expect(await store.counts()).to.deep.equal({ total: 20, available: 15, leased: 5, cooling: 0 });
      });

      it("Acquires started together (one event-loop turn) apply one budget of due releases between them, and each gets a key", async () => {
        const store = await open({ deadlineBudget: BUDGET });
        for (let i = 0; i < 30; i += 1) await store.create();
        for (let i = 0; i < 20; i += 1) {
          at(t0 + i);
          await store.acquire();
        }
        at(t0 + 19 + BLOCK_TTL); // 20 holds have passed, none applied; 10 keys available
        await new Promise((resolve) => setImmediate(resolve));
        const got = await Promise.all(Array.from({ length: 12 }, () => store.acquire()));
        expect(new Set(got.map((record) => record.keyId)).size).to.equal(12);
        // The turn's first Acquire applied the budget's 4 earliest releases; the other 11 drew
        // among the keys available then (10 + 4), so 16 holds are still due.
        expect(await store.counts()).to.deep.equal({ total: 30, available: 2, leased: 20 - BUDGET + 12, cooling: 0 });
      });

      it("acquire never hands out an expired key, however many expired keys it must drop first", async () => {
        const store = await open({ deadlineBudget: BUDGET });
        for (let i = 0; i < 50; i += 1) await store.create(); // expire at t0 + 1000
        at(t0 + 1);
        const live = await store.create();
        at(t0 + KEY_TTL);
        // 50 expired keys to drop, a budget of 4 per try: the store tries again until certain.
        expect((await store.acquire()).keyId).to.equal(live.keyId);
        await expectKind(store.acquire(), "no_available_key");
      });

      it("acquire answers no_available_key only once no passed release is left to apply", async () => {
        const store = await open({ deadlineBudget: BUDGET });
        for (let i = 0; i < 10; i += 1) await store.create();
        for (let i = 0; i < 10; i += 1) await store.acquire();
        at(t0 + BLOCK_TTL);
        const handedOut = new Set<string>();
        for (let i = 0; i < 10; i += 1) handedOut.add((await store.acquire()).keyId);
        expect(handedOut.size).to.equal(10);
        await expectKind(store.acquire(), "no_available_key");
      });

      it("create at capacity makes room from one passed expiry, never a scan", async () => {
        const store = await open({ deadlineBudget: BUDGET, maxKeys: 20 });
        for (let i = 0; i < 20; i += 1) await store.create();
        at(t0 + KEY_TTL);
        for (let i = 0; i < 20; i += 1) {
          await store.create();
          // Each create applied exactly one expiry: the pool stays full, old keys going one by one.
          expect((await store.counts()).total).to.equal(20);
        }
        await expectKind(store.create(), "capacity_exhausted");
      });

      it("the background sweep applies the backlog and changes nothing a caller sees", async () => {
        const { store, sweep } = await openWithSweep({ deadlineBudget: BUDGET });
        const keys = [];
        for (let i = 0; i < 10; i += 1) keys.push(await store.create());
        for (let i = 0; i < 5; i += 1) await store.acquire();
        at(t0 + BLOCK_TTL);
        expect(await sweep()).to.equal(5);
        expect(await store.counts()).to.deep.equal({ total: 10, available: 10, leased: 0, cooling: 0 });
        at(t0 + KEY_TTL);
        expect(await sweep()).to.equal(10);
        expect(await store.counts()).to.deep.equal({ total: 0, available: 0, leased: 0, cooling: 0 });
        for (const key of keys) await expectKind(store.get(key.keyId), "not_found");
      });
    });

    describe("key events", () => {
      /** The events a store reports, as [type, at - t0, by?] so a test reads as a timeline. */
      function recorded(store: KeyStore): { timeline: () => unknown[]; ids: () => string[] } {
        const events: StoreKeyEvent[] = [];
        store.onKeyEvent((event) => events.push(event));
        return {
          timeline: () => events.map((e) => (e.by === undefined ? [e.type, e.at - t0] : [e.type, e.at - t0, e.by])),
          ids: () => events.map((e) => e.keyId),
        };
      }

      it("reports each change with its caller, and each applied deadline at the deadline itself", async () => {
        const store = await open();
        const log = recorded(store);
        const { keyId } = await store.create({ by: "admin-1" });
        at(t0 + 10);
        await store.acquire({ by: "worker-1" });
        at(t0 + 10 + BLOCK_TTL + 5);
        await store.get(keyId); // applies the hold's end, at release_at
        await store.keepAlive(keyId, { by: "worker-1" });
        await store.release(keyId, { by: "worker-1" }); // available already: no event
        await store.acquire({ by: "worker-2" });
        await store.release(keyId, { by: "worker-2" });
        await store.delete(keyId, { by: "admin-1" });
        expect(log.timeline()).to.deep.equal([
          ["CREATED", 0, "admin-1"],
          ["ACQUIRED", 10, "worker-1"],
          ["AUTO_RELEASED", 10 + BLOCK_TTL],
          ["KEPT_ALIVE", 15 + BLOCK_TTL, "worker-1"],
          ["ACQUIRED", 15 + BLOCK_TTL, "worker-2"],
          ["RELEASED", 15 + BLOCK_TTL, "worker-2"],
          ["DELETED", 15 + BLOCK_TTL, "admin-1"],
        ]);
        expect(new Set(log.ids())).to.deep.equal(new Set([keyId]));
      });

      it("a key whose hold ended before it expired is released, then expired, at each deadline; however it is applied", async () => {
        for (const apply of ["get", "sweep", "acquire", "create"] as const) {
          const { store, sweep } = await openWithSweep({ maxKeys: 2 });
          const log = recorded(store);
          const start = clock.now() - t0;
          const blocked = await store.create();
          await store.acquire(); // release_at = start + 300 < expires_at = start + 1000
          at(t0 + start + 1);
          const plain = await store.create(); // expires a millisecond later; never blocked
          at(t0 + start + KEY_TTL + 1);
          if (apply === "get") {
            await expectKind(store.get(blocked.keyId), "not_found");
            await expectKind(store.get(plain.keyId), "not_found");
          } else if (apply === "sweep") await sweep();
          else if (apply === "acquire") await expectKind(store.acquire(), "no_available_key");
          else await store.create(); // at capacity: frees the earliest expiry (and then the next create)
          const automatic = log.timeline().filter((entry) => !["CREATED", "ACQUIRED"].includes((entry as unknown[])[0] as string));
          const expected = [
            ["AUTO_RELEASED", start + BLOCK_TTL],
            ["EXPIRED", start + KEY_TTL],
            ["EXPIRED", start + 1 + KEY_TTL],
          ];
          if (apply === "create") expect(automatic.slice(0, 2), apply).to.deep.equal(expected.slice(0, 2));
          else {
            // The release comes first; acquire drops the expired keys in the order it draws them.
            expect(automatic[0], apply).to.deep.equal(expected[0]);
            expect(automatic.slice(1), apply).to.have.deep.members(expected.slice(1));
          }
        }
      });
    });

    describe("event feed (Watch's history)", () => {
      it("holds every reported event under consecutive revisions, the automatic ones at their deadlines", async () => {
        const { store, sweep } = await openWithSweep();
        const reported: StoreKeyEvent[] = [];
        store.onKeyEvent((event) => reported.push(event));
        const before = await store.events.last();
        const { keyId } = await store.create();
        const held = await store.acquire();
        at(t0 + BLOCK_TTL);
        await sweep(); // the hold's end, applied by the sweeper
        await store.delete(keyId);
        const events = await store.events.read(before + 1, 100);
        expect(events.map((event) => event.revision)).to.deep.equal([1, 2, 3, 4].map((n) => before + n));
        expect(events.map(({ type, keyId: id, at: when, lease }) => [type, id, when - t0, lease])).to.deep.equal([
          ["CREATED", keyId, 0, undefined],
          ["ACQUIRED", keyId, 0, held.lease],
          ["AUTO_RELEASED", keyId, BLOCK_TTL, held.lease],
          ["DELETED", keyId, BLOCK_TTL, undefined],
        ]);
        expect(events.map((event) => event.type)).to.deep.equal(reported.map((event) => event.type));
        expect(await store.events.last()).to.equal(before + 4);
        expect(await store.events.read(before + 5, 100), "nothing past the last").to.deep.equal([]);
        expect((await store.events.read(before + 2, 2)).map((event) => event.revision), "at most `max`, from `from`").to.deep.equal([before + 2, before + 3]);
      });

      it("tells listeners of appends, and stops when asked", async () => {
        const store = await open();
        let told = 0;
        const stop = store.events.onAppend(() => (told += 1));
        await store.create();
        for (let waited = 0; told === 0 && waited < 2000; waited += 5) await new Promise((resolve) => setTimeout(resolve, 5));
        expect(told).to.be.greaterThan(0);
        stop();
        const after = told;
        await store.create();
        await new Promise((resolve) => setTimeout(resolve, 50));
        expect(told).to.equal(after);
      });

      it("keeps at least WATCH_RETENTION events; an older revision, once dropped, is out_of_range", async () => {
        const { store, sweep } = await openWithSweep({ watchRetention: 5 });
        for (let i = 0; i < 300; i += 1) await store.create();
        await sweep(); // Redis trims its stream here
        const last = await store.events.last();
        expect((await store.events.read(last - 4, 10)).map((event) => event.revision)).to.deep.equal([0, 1, 2, 3, 4].map((n) => last - 4 + n));
        await expectKind(store.events.read(1, 10), "out_of_range");
      });
    });

    describe("leases, cooldowns and lifetimes (v2)", () => {
      it("numbers every lease above every lease before it, the same key's included", async () => {
        const store = await open();
        const { keyId } = await store.create();
        await store.create();
        const leases: number[] = [];
        for (let round = 0; round < 3; round += 1) {
          const held = await store.acquire();
          leases.push(held.lease as number);
          if (held.keyId === keyId) await store.release(keyId, { lease: held.lease as number });
        }
        expect(leases.every((lease, i) => i === 0 || lease > (leases[i - 1] as number)), `${leases}`).to.equal(true);
        expect(leases[0]).to.be.at.least(1);
      });

      it("a leased key reports its state, lease and lifetime; release clears the lease", async () => {
        const store = await open();
        const created = await store.create();
        expect(plain(created)).to.include({ state: "available", ttlMs: KEY_TTL, lease: null });
        const held = await store.acquire();
        expect(plain(await store.get(created.keyId))).to.include({ state: "leased", lease: held.lease });
        await store.release(created.keyId);
        expect(plain(await store.get(created.keyId))).to.include({ state: "available", lease: null, blockedAt: null, releaseAt: null });
      });

      it("grants asked lifetimes and holds clamped to [1 s, max], and refuses negative ones", async () => {
        const store = await open();
        const short = await store.create({ ttlMs: 1 });
        expect([short.ttlMs, short.expiresAt - t0]).to.deep.equal([1000, 1000]);
        const long = await store.create({ ttlMs: MAX_KEY_TTL + 1 });
        expect([long.ttlMs, long.expiresAt - t0]).to.deep.equal([MAX_KEY_TTL, MAX_KEY_TTL]);
        const exact = await store.create({ ttlMs: 1234 });
        expect(exact.expiresAt - t0).to.equal(1234);
        await expectKind(store.create({ ttlMs: -1 }), "invalid_argument");
        expect((await store.acquire({ blockTtlMs: 1 })).releaseAt).to.equal(t0 + 1000);
        expect((await store.acquire({ blockTtlMs: MAX_BLOCK_TTL + 1 })).releaseAt).to.equal(t0 + MAX_BLOCK_TTL);
        await expectKind(store.acquire({ blockTtlMs: -5 }), "invalid_argument");
        expect((await store.counts()).leased, "a refused call changes nothing").to.equal(2);
      });

      it("keepAlive renews a key to its own lifetime, not KEY_TTL", async () => {
        const store = await open();
        const { keyId } = await store.create({ ttlMs: 4000 });
        at(t0 + 3999);
        expect((await store.keepAlive(keyId)).expiresAt).to.equal(t0 + 3999 + 4000);
        at(t0 + 3999 + 3999);
        expect((await store.get(keyId)).state).to.equal("available");
        at(t0 + 3999 + 4000);
        await expectKind(store.get(keyId), "not_found");
      });

      it("keepAlive with the current lease renews the hold to that lease's length; without one the hold is left alone", async () => {
        const store = await open();
        const { keyId } = await store.create({ ttlMs: 5000 });
        const held = await store.acquire({ blockTtlMs: 1500 });
        at(t0 + 200);
        expect((await store.keepAlive(keyId)).releaseAt, "no lease: hold unchanged").to.equal(t0 + 1500);
        at(t0 + 1499);
        const renewed = await store.keepAlive(keyId, { lease: held.lease as number });
        expect([renewed.releaseAt, renewed.expiresAt, renewed.lease]).to.deep.equal([t0 + 1499 + 1500, t0 + 1499 + 5000, held.lease]);
        at(t0 + 1499 + 1499);
        expect((await store.get(keyId)).state).to.equal("leased");
        at(t0 + 1499 + 1500);
        expect((await store.get(keyId)).state).to.equal("available");
      });

      it("fences: a stale lease can neither release nor keep alive the next holder's lease, and changes nothing", async () => {
        const store = await open();
        const { keyId } = await store.create();
        const first = await store.acquire();
        at(t0 + BLOCK_TTL); // the first hold ends by time
        const second = await store.acquire();
        expect(second.keyId).to.equal(keyId);
        const before = plain(await store.get(keyId));
        await expectKind(store.release(keyId, { lease: first.lease as number }), "lease_mismatch");
        await expectKind(store.keepAlive(keyId, { lease: first.lease as number }), "lease_mismatch");
        await expectKind(store.release(keyId, { lease: (second.lease as number) + 1 }), "lease_mismatch");
        expect(plain(await store.get(keyId))).to.deep.equal(before);
        await store.release(keyId, { lease: second.lease as number });
        await expectKind(store.release(keyId, { lease: second.lease as number }), "lease_mismatch");
        await expectKind(store.keepAlive(keyId, { lease: second.lease as number }), "lease_mismatch");
        expect((await store.get(keyId)).state, "released, and a lease on an available key is refused").to.equal("available");
      });

      it("cools a released key down: cooling until releaseAt - 1, handed out again at releaseAt exactly", async () => {
        const store = await open();
        const { keyId } = await store.create();
        const held = await store.acquire();
        at(t0 + 10);
        const cooling = await store.release(keyId, { lease: held.lease as number, cooldownMs: 500 });
        expect(plain(cooling)).to.include({ state: "cooling", blockedAt: t0 + 10, releaseAt: t0 + 510, lease: null });
        expect(await store.nextRelease()).to.equal(t0 + 510);
        expect(await store.counts()).to.deep.equal({ total: 1, available: 0, leased: 0, cooling: 1 });
        expect(plain(await store.release(keyId)), "releasing a cooling key changes nothing").to.include({ state: "cooling", releaseAt: t0 + 510 });
        at(t0 + 509);
        await expectKind(store.acquire(), "no_available_key");
        expect((await store.get(keyId)).state).to.equal("cooling");
        at(t0 + 510);
        const again = await store.acquire();
        expect([again.keyId, again.lease as number > (held.lease as number)]).to.deep.equal([keyId, true]);
      });

      it("clamps a cooldown to MAX_BLOCK_TTL; zero means none; negative is refused", async () => {
        const store = await open();
        const { keyId } = await store.create();
        let held = await store.acquire();
        await expectKind(store.release(keyId, { lease: held.lease as number, cooldownMs: -1 }), "invalid_argument");
        expect((await store.get(keyId)).state, "a refused release changes nothing").to.equal("leased");
        expect((await store.release(keyId, { cooldownMs: 0 })).state).to.equal("available");
        held = await store.acquire();
        expect((await store.release(keyId, { cooldownMs: MAX_BLOCK_TTL * 10 })).releaseAt).to.equal(t0 + MAX_BLOCK_TTL);
      });

      it("a key expires while cooling, and a cooldown never outlives the key", async () => {
        const store = await open();
        const { keyId } = await store.create();
        await store.acquire();
        at(t0 + KEY_TTL - 100);
        await store.release(keyId, { cooldownMs: 500 });
        at(t0 + KEY_TTL);
        await expectKind(store.get(keyId), "not_found");
        await expectKind(store.acquire(), "no_available_key");
        expect(await store.counts()).to.deep.equal({ total: 0, available: 0, leased: 0, cooling: 0 });
      });

      it("nextRelease is the earliest end of a lease or cooldown, +Infinity with none", async () => {
        const store = await open();
        expect(await store.nextRelease()).to.equal(Number.POSITIVE_INFINITY);
        await store.create();
        await store.create();
        await store.acquire({ blockTtlMs: 1800 });
        const { keyId } = await store.acquire({ blockTtlMs: 1200 });
        expect(await store.nextRelease()).to.equal(t0 + 1200);
        await store.release(keyId);
        expect(await store.nextRelease()).to.equal(t0 + 1800);
      });

      it("list pages through every key exactly once in a quiet pool, honours the state filter, and refuses foreign tokens", async () => {
        const store = await open();
        const ids = new Set<string>();
        for (let i = 0; i < 23; i += 1) ids.add((await store.create()).keyId);
        const leased = new Set([(await store.acquire()).keyId, (await store.acquire()).keyId]);
        const seen: string[] = [];
        const leasedSeen: string[] = [];
        let token = "";
        let pages = 0;
        do {
          const page = await store.list(token, 5);
          expect(page.records.length).to.be.at.most(5);
          for (const record of page.records) {
            seen.push(record.keyId);
            expect(record.state).to.equal(leased.has(record.keyId) ? "leased" : "available");
          }
          token = page.nextPageToken;
          pages += 1;
          expect(pages, "the walk ends").to.be.below(100);
        } while (token !== "");
        expect(new Set(seen)).to.deep.equal(ids);
        token = "";
        do {
          const page = await store.list(token, 5, "leased");
          leasedSeen.push(...page.records.map((record) => record.keyId));
          token = page.nextPageToken;
        } while (token !== "");
        expect(new Set(leasedSeen)).to.deep.equal(leased);
        await expectKind(store.list("not-a-token", 5), "invalid_argument");
      });

      it("list: a key present for the whole walk appears, while others come and go between pages (small and large pools)", async () => {
        for (const size of [40, 300]) {
          const store = await open();
          const stayers = new Set<string>();
          const goers: string[] = [];
          for (let i = 0; i < size; i += 1) {
            const { keyId } = await store.create();
            if (i % 3 === 0) goers.push(keyId);
            else stayers.add(keyId);
          }
          const seen = new Set<string>();
          let token = "";
          let pages = 0;
          do {
            const page = await store.list(token, 7);
            expect(page.records.length).to.be.at.most(7);
            for (const record of page.records) seen.add(record.keyId);
            const goer = goers.pop();
            if (goer !== undefined) await store.delete(goer);
            await store.create(); // a newcomer may or may not be listed
            token = page.nextPageToken;
            pages += 1;
            expect(pages, "the walk ends").to.be.below(size);
          } while (token !== "");
          const missing = [...stayers].filter((keyId) => !seen.has(keyId));
          expect(missing, `pool of ${size}`).to.deep.equal([]);
        }
      });

      it("list applies the deadlines it observes: an expired key is never listed, an ended hold is listed available", async () => {
        const store = await open();
        const doomed = await store.create({ ttlMs: 1000 });
        const { keyId } = await store.create({ ttlMs: 5000 });
        await store.acquire();
        await store.acquire();
        at(t0 + 1000);
        const page = await store.list("", 100);
        expect(page.records.map((record) => [record.keyId, record.state])).to.deep.equal([[keyId, "available"]]);
        expect(page.records.map((record) => record.keyId)).not.to.include(doomed.keyId);
      });
    });

    describe("model-based property", () => {
      it("every answer matches a reference model of the rules", async function () {
        this.timeout(120_000);
        await fc.assert(
          fc.asyncProperty(
            fc.constantFrom(3, 1000),
            fc.constantFrom(1, 2, 1024),
            fc.array(commandArb, { maxLength: 40, size: "max" }),
            async (maxKeys, deadlineBudget, commands) => {
            const runClock = new ManualClock();
            const settings: PoolSettings = { ...SETTINGS, maxKeys, deadlineBudget };
            const { store, sweep, cleanup } = await makeStore(runClock, settings);
            try {
              await runAgainstModel(store, sweep, runClock, settings, commands);
            } finally {
              await cleanup?.();
              await store.close();
            }
            },
          ),
          { numRuns: 100 },
        );
      });
    });
  });
}

// ---- the reference model ----------------------------------------------------

/** A lease a command names: none, the key's current one, or one that is not (stale or made up). */
type LeaseChoice = "none" | "current" | "stale";

type Command =
  | { op: "sweep" }
  | { op: "create"; ttl: number | undefined }
  | { op: "acquire"; blockTtl: number | undefined }
  | { op: "get" | "delete"; target: Target }
  | { op: "release"; target: Target; lease: LeaseChoice; cooldown: number | undefined }
  | { op: "keepAlive"; target: Target; lease: LeaseChoice }
  | { op: "advance"; ms: number }
  /** Jumps to (or one ms before) a deadline the model knows, when it lies ahead. */
  | { op: "toDeadline"; pick: number; which: "expiresAt" | "releaseAt"; offset: -1 | 0 };

type Target = { known: number } | { unknown: string };

const target: fc.Arbitrary<Target> = fc.oneof(
  { arbitrary: fc.record({ known: fc.nat() }), weight: 5 },
  { arbitrary: fc.record({ unknown: fc.string({ minLength: 1, maxLength: 128 }) }), weight: 1 },
);
const leaseChoice = fc.constantFrom<LeaseChoice>("none", "none", "current", "stale");
/** Asked durations: unset, below the 1 s floor, ordinary, past the ceiling, and invalid (negative). */
const asked = (ceiling: number): fc.Arbitrary<number | undefined> =>
  fc.oneof(fc.constant(undefined), fc.constant(0), fc.integer({ min: 1, max: 2 * ceiling }), fc.constant(-1));

const commandArb: fc.Arbitrary<Command> = fc.oneof(
  { arbitrary: fc.record({ op: fc.constant("create" as const), ttl: asked(MAX_KEY_TTL) }), weight: 3 },
  { arbitrary: fc.record({ op: fc.constant("acquire" as const), blockTtl: asked(MAX_BLOCK_TTL) }), weight: 3 },
  { arbitrary: fc.record({ op: fc.constant("sweep" as const) }), weight: 1 },
  { arbitrary: fc.record({ op: fc.constantFrom("get" as const, "delete" as const), target }), weight: 3 },
  { arbitrary: fc.record({ op: fc.constant("release" as const), target, lease: leaseChoice, cooldown: asked(MAX_BLOCK_TTL) }), weight: 3 },
  { arbitrary: fc.record({ op: fc.constant("keepAlive" as const), target, lease: leaseChoice }), weight: 2 },
  { arbitrary: fc.record({ op: fc.constant("advance" as const), ms: fc.integer({ min: 0, max: 2 * BLOCK_TTL }) }), weight: 3 },
  {
    arbitrary: fc.record({
      op: fc.constant("toDeadline" as const),
      pick: fc.nat(),
      which: fc.constantFrom("expiresAt" as const, "releaseAt" as const),
      offset: fc.constantFrom(-1 as const, 0 as const),
    }),
    weight: 2,
  },
);

type Outcome = { ok: KeyRecord | undefined } | { error: DomainErrorKind };

/** A record and its hold's length (what KeepAlive with the lease renews it by). */
type ModelRecord = KeyRecord & { readonly holdMs: number | null };

/** The rules, computed directly over a plain map of records. */
class Model {
  readonly records = new Map<string, ModelRecord>();
  private lastLease = 0;

  constructor(
    private readonly settings: PoolSettings,
    private readonly now: () => number,
  ) {}

  /** Applies every passed deadline: expiry wins over release. */
  settle(): void {
    const now = this.now();
    for (const [id, r] of this.records) {
      if (r.expiresAt <= now) this.records.delete(id);
      else if (r.releaseAt !== null && r.releaseAt <= now) this.records.set(id, available(r));
    }
  }

  available(): string[] {
    this.settle();
    return [...this.records.values()].filter((r) => r.state === "available").map((r) => r.keyId);
  }

  /** The lease a command's choice names for `keyId`, or undefined for "none". */
  leaseFor(keyId: string, choice: LeaseChoice): number | undefined {
    if (choice === "none") return undefined;
    const current = this.records.get(keyId)?.lease ?? null;
    if (choice === "current") return current ?? this.lastLease + 1;
    return current === null ? Math.max(1, this.lastLease) : current - 1;
  }

  create(keyId: string, ttl: number | undefined): Outcome {
    const granted = grant(ttl, KEY_TTL, MAX_KEY_TTL);
    if (granted === undefined) return { error: "invalid_argument" };
    this.settle();
    if (this.records.size >= this.settings.maxKeys) return { error: "capacity_exhausted" };
    const now = this.now();
    const r: ModelRecord = { keyId, createdAt: now, expiresAt: now + granted, blockedAt: null, releaseAt: null, state: "available", ttlMs: granted, lease: null, holdMs: null };
    this.records.set(keyId, r);
    return { ok: plain(r) };
  }

  /** The hold an acquire would get, or undefined when the asked one is invalid. */
  hold(blockTtl: number | undefined): number | undefined {
    return grant(blockTtl, BLOCK_TTL, MAX_BLOCK_TTL);
  }

  acquire(keyId: string, holdMs: number): Outcome {
    const now = this.now();
    this.lastLease += 1;
    const r = this.records.get(keyId) as ModelRecord;
    return this.put({ ...r, state: "leased", blockedAt: now, releaseAt: now + holdMs, lease: this.lastLease, holdMs });
  }

  get(keyId: string): Outcome {
    this.settle();
    const r = this.records.get(keyId);
    return r === undefined ? { error: "not_found" } : { ok: plain(r) };
  }

  delete(keyId: string): Outcome {
    this.settle();
    return this.records.delete(keyId) ? { ok: undefined } : { error: "not_found" };
  }

  release(keyId: string, lease: number | undefined, cooldown: number | undefined): Outcome {
    if (cooldown !== undefined && cooldown < 0) return { error: "invalid_argument" };
    this.settle();
    const r = this.records.get(keyId);
    if (r === undefined) return { error: "not_found" };
    if (lease !== undefined && (r.state !== "leased" || r.lease !== lease)) return { error: "lease_mismatch" };
    if (r.state !== "leased") return { ok: plain(r) };
    const now = this.now();
    if (cooldown === undefined || cooldown === 0) return this.put(available(r));
    return this.put({ ...r, state: "cooling", blockedAt: now, releaseAt: now + Math.min(cooldown, MAX_BLOCK_TTL), lease: null, holdMs: null });
  }

  keepAlive(keyId: string, lease: number | undefined): Outcome {
    this.settle();
    const r = this.records.get(keyId);
    if (r === undefined) return { error: "not_found" };
    if (lease !== undefined && (r.state !== "leased" || r.lease !== lease)) return { error: "lease_mismatch" };
    const now = this.now();
    const renewed = { ...r, expiresAt: now + r.ttlMs };
    return this.put(lease === undefined ? renewed : { ...renewed, releaseAt: now + (r.holdMs as number) });
  }

  private put(r: ModelRecord): Outcome {
    this.records.set(r.keyId, r);
    return { ok: plain(r) };
  }
}

function available(r: ModelRecord): ModelRecord {
  return { ...r, state: "available", blockedAt: null, releaseAt: null, lease: null, holdMs: null };
}

/** The model's own statement of the clamp rule: unset → default; negative → invalid; else [1 s, ceiling]. */
function grant(asked: number | undefined, fallback: number, ceiling: number): number | undefined {
  if (asked === undefined) return fallback;
  if (asked < 0) return undefined;
  return Math.min(Math.max(asked, 1000), ceiling);
}

/** Runs a store call and captures its answer the way the model states it. */
async function outcomeOf(call: Promise<KeyRecord | void>): Promise<Outcome> {
  try {
    const value = await call;
    return { ok: value === undefined ? undefined : plain(value) };
  } catch (error) {
    if (!isDomainError(error)) throw error;
    return { error: error.kind };
  }
}

async function runAgainstModel(
  store: KeyStore,
  sweep: () => Promise<number>,
  clock: ManualClock,
  settings: PoolSettings,
  commands: Command[],
): Promise<void> {
  const model = new Model(settings, () => clock.now());
  /** Every id the store ever made, live or not: "known" targets pick from here. */
  const made: string[] = [];
  const start = clock.now();
  for (const [step, c] of commands.entries()) {
    const where = `step ${step} ${JSON.stringify(c)} at +${clock.now() - start}ms`;
    switch (c.op) {
      case "advance":
        clock.advance(c.ms);
        break;
      case "sweep":
        await sweep(); // background work: the next answers must not change
        break;
      case "toDeadline": {
        model.settle();
        const deadlines = [...model.records.values()].flatMap((r) => r[c.which] ?? []);
        const deadline = deadlines[c.pick % Math.max(1, deadlines.length)];
        if (deadline !== undefined && deadline + c.offset >= clock.now()) clock.set(deadline + c.offset);
        break;
      }
      case "create": {
        const got = await outcomeOf(store.create({ ttlMs: c.ttl }));
        if ("ok" in got && got.ok !== undefined) {
          expect(got.ok.keyId, where).to.match(URL_SAFE);
          expect(made, `${where}: ids are never reused`).not.to.include(got.ok.keyId);
          made.push(got.ok.keyId);
          expect(got, where).to.deep.equal(model.create(got.ok.keyId, c.ttl));
        } else {
          expect(got, where).to.deep.equal(model.create("unused", c.ttl));
        }
        break;
      }
      case "acquire": {
        const hold = model.hold(c.blockTtl);
        const available = model.available();
        const got = await outcomeOf(store.acquire({ blockTtlMs: c.blockTtl }));
        if (hold === undefined) {
          expect(got, where).to.deep.equal({ error: "invalid_argument" });
        } else if (available.length === 0) {
          expect(got, where).to.deep.equal({ error: "no_available_key" });
        } else {
          // The pick is random: any key the model holds available is right; follow it.
          expect(got, where).to.have.property("ok");
          const keyId = (got as { ok: KeyRecord }).ok.keyId;
          expect(available, `${where}: acquire chose a key that is not available`).to.include(keyId);
          expect(got, where).to.deep.equal(model.acquire(keyId, hold));
        }
        break;
      }
      default: {
        const keyId = "known" in c.target ? made[c.target.known % Math.max(1, made.length)] : c.target.unknown;
        if (keyId === undefined) break; // nothing made yet
        if (c.op === "get") expect(await outcomeOf(store.get(keyId)), where).to.deep.equal(model.get(keyId));
        else if (c.op === "delete") expect(await outcomeOf(store.delete(keyId)), where).to.deep.equal(model.delete(keyId));
        else if (c.op === "release") {
          model.settle();
          const lease = model.leaseFor(keyId, c.lease);
          const got = await outcomeOf(store.release(keyId, { lease, cooldownMs: c.cooldown }));
          expect(got, where).to.deep.equal(model.release(keyId, lease, c.cooldown));
        } else if (c.op === "keepAlive") {
          model.settle();
          const lease = model.leaseFor(keyId, c.lease);
          expect(await outcomeOf(store.keepAlive(keyId, { lease })), where).to.deep.equal(model.keepAlive(keyId, lease));
        }
      }
    }
  }
  // Finally every id the store ever made reads as the model says.
  for (const keyId of made) {
    expect(await outcomeOf(store.get(keyId)), `final get ${keyId}`).to.deep.equal(model.get(keyId));
  }
}
