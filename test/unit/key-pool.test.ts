import { expect } from "chai";
import { DomainError } from "../../src/core/errors";
import { checkKeyId, MAX_KEY_ID_LENGTH, randomKeyId } from "../../src/core/key-id";
import { CATCHING_UP, KeyPool, type PoolDependencies } from "../../src/core/key-pool";
import { ManualClock } from "../support/manual-clock";
import { mulberry32 } from "../support/prng";
import { SettledPool, settled } from "../support/settled-pool";

const SETTINGS = { keyTtlMs: 1000, blockTtlMs: 300, maxKeys: 100_000 };

function pool(clock = new ManualClock(), dependencies: PoolDependencies = {}): SettledPool {
  return new SettledPool(clock, SETTINGS, dependencies);
}

function expectKind(call: () => unknown, kind: string): void {
  expect(call).to.throw(DomainError).with.property("kind", kind);
}

describe("KeyPool", () => {
  describe("random choice", () => {
    it("picks the available key at floor(random() * count)", () => {
      // On a fresh pool the available keys sit in creation order.
      for (const [r, index] of [
        [0, 0],
        [0.34, 1],
        [0.999, 2],
      ] as const) {
        const p = pool(new ManualClock(), { random: () => r });
        const ids = [p.create().keyId, p.create().keyId, p.create().keyId];
        expect(p.acquire().keyId, `random() = ${r}`).to.equal(ids[index]);
      }
    });

    it("is roughly uniform over 10 keys (seeded, so deterministic)", () => {
      const p = pool(new ManualClock(), { random: mulberry32(20261125) });
      const counts = new Map<string, number>();
      for (let i = 0; i < 10; i += 1) counts.set(p.create().keyId, 0);
      const rounds = 10_000;
      for (let i = 0; i < rounds; i += 1) {
        const { keyId } = p.acquire();
        counts.set(keyId, (counts.get(keyId) as number) + 1);
        p.release(keyId);
      }
      expect(counts.size).to.equal(10); // no stray ids
      // Expected 1000 each, sd ~30: a loose band that only a biased pick leaves.
      for (const [keyId, count] of counts) expect(count, keyId).to.be.within(850, 1150);
    });

    it("picks each position of a fresh pool equally often (seeded)", () => {
      // The test above cannot see a bias by position: release re-appends the key, so
      // the order keeps rotating (even random = () => 0 would spread evenly there).
      // A fresh pool per round fixes the order, so each creation index must win ~1/10.
      const random = mulberry32(7);
      const wins = new Array<number>(10).fill(0);
      for (let round = 0; round < 10_000; round += 1) {
        const p = pool(new ManualClock(), { random });
        const ids = Array.from({ length: 10 }, () => p.create().keyId);
        const index = ids.indexOf(p.acquire().keyId);
        wins[index] = (wins[index] as number) + 1;
      }
      for (const [index, count] of wins.entries()) expect(count, `index ${index}`).to.be.within(850, 1150);
    });

    it("only draws among available keys (random always 0 still reaches every key)", () => {
      const p = pool(new ManualClock(), { random: () => 0 });
      const ids = new Set([p.create().keyId, p.create().keyId, p.create().keyId]);
      const got = new Set([p.acquire().keyId, p.acquire().keyId, p.acquire().keyId]);
      expect(got).to.deep.equal(ids);
      expectKind(() => p.acquire(), "no_available_key");
    });
  });

  describe("expireDue and nextDeadline", () => {
    it("nextDeadline is +Infinity on an empty pool, then the earliest deadline", () => {
      const clock = new ManualClock();
      const t0 = clock.now();
      const p = pool(clock);
      expect(p.nextDeadline()).to.equal(Number.POSITIVE_INFINITY);
      const { keyId } = p.create();
      expect(p.nextDeadline()).to.equal(t0 + 1000);
      p.acquire();
      expect(p.nextDeadline()).to.equal(t0 + 300); // the release comes first
      p.release(keyId);
      expect(p.nextDeadline()).to.equal(t0 + 1000); // no stale release deadline left
      clock.advance(200);
      p.keepAlive(keyId);
      expect(p.nextDeadline()).to.equal(t0 + 1000); // filed at the earlier deadline, a lower bound
      p.delete(keyId);
      expect(p.nextDeadline()).to.equal(Number.POSITIVE_INFINITY);
    });

    it("a key kept alive is re-filed when its earlier deadline comes due, and expires at its true one to the ms", () => {
      const clock = new ManualClock();
      const t0 = clock.now();
      const p = pool(clock);
      const { keyId } = p.create(); // filed at t0 + 1000
      clock.set(t0 + 200);
      p.keepAlive(keyId);
      clock.set(t0 + 400);
      p.keepAlive(keyId); // expires at t0 + 1400; still filed at t0 + 1000
      clock.set(t0 + 1000);
      expect(p.expireDue(Number.POSITIVE_INFINITY), "one unit of work: the re-filing").to.equal(1);
      expect([p.size, p.nextDeadline()]).to.deep.equal([1, t0 + 1400]);
      clock.set(t0 + 1399);
      expect(p.get(keyId).expiresAt).to.equal(t0 + 1400);
      clock.set(t0 + 1400);
      expect(p.expireDue(Number.POSITIVE_INFINITY)).to.equal(1);
      expect(p.size).to.equal(0);
      expectKind(() => p.get(keyId), "not_found");
    });

    it("a hold renewed by keep-alive is re-filed when its earlier end comes due: the key stays leased until the true end", () => {
      const clock = new ManualClock();
      const t0 = clock.now();
      const p = pool(clock);
      const { keyId } = p.create();
      const held = p.acquire(); // hold ends at t0 + 300
      clock.set(t0 + 200);
      p.keepAlive(keyId, held.lease as number); // hold ends at t0 + 500
      expect(p.nextRelease()).to.equal(t0 + 300);
      clock.set(t0 + 300);
      expectKind(() => p.acquire(), "no_available_key"); // the early entry is re-filed on the way, not applied
      expect(p.nextRelease()).to.equal(t0 + 500);
      clock.set(t0 + 499);
      expect(p.get(keyId).state).to.equal("leased");
      clock.set(t0 + 500);
      expect(p.acquire().keyId).to.equal(keyId);
    });

    it("applies nothing before a deadline and returns 0", () => {
      const clock = new ManualClock();
      const p = pool(clock);
      p.create();
      clock.advance(999);
      expect(p.expireDue(Number.POSITIVE_INFINITY)).to.equal(0);
      expect(p.size).to.equal(1);
    });

    it("applies at most `budget` deadlines, earliest first", () => {
      const clock = new ManualClock();
      const t0 = clock.now();
      const p = pool(clock);
      for (let i = 0; i < 5; i += 1) {
        p.create(); // expires at t0 + 1000 + 10 i
        clock.advance(10);
      }
      clock.set(t0 + 5000);
      expect(p.size).to.equal(5); // lazily: nothing applied yet
      expect(p.expireDue(2)).to.equal(2);
      expect(p.size).to.equal(3);
      expect(p.nextDeadline()).to.equal(t0 + 1020); // the two earliest went
      expect(p.expireDue(10)).to.equal(3);
      expect(p.size).to.equal(0);
      expect(p.expireDue(10)).to.equal(0);
    });

    it("orders releases and expiries together, and a release keeps the key", () => {
      const clock = new ManualClock();
      const t0 = clock.now();
      const p = pool(clock);
      const { keyId } = p.create(); // expires at t0 + 1000
      p.acquire(); // released at t0 + 300
      clock.set(t0 + 2000);
      expect(p.expireDue(1)).to.equal(1); // the release, earlier
      expect(p.size).to.equal(1);
      expect(p.nextDeadline()).to.equal(t0 + 1000);
      expect(p.expireDue(1)).to.equal(1); // then the expiry
      expect(p.size).to.equal(0);
      expectKind(() => p.get(keyId), "not_found");
    });

    it("applies only deadlines that have passed (exactly at the deadline counts)", () => {
      const clock = new ManualClock();
      const t0 = clock.now();
      const p = pool(clock);
      p.create();
      clock.advance(500);
      p.create();
      clock.set(t0 + 1000);
      expect(p.expireDue(Number.POSITIVE_INFINITY)).to.equal(1);
      expect(p.size).to.equal(1);
      expect(p.nextDeadline()).to.equal(t0 + 1500);
    });
  });

  describe("deadline budget", () => {
    const budgeted = (clock: ManualClock, random?: () => number) =>
      new KeyPool(clock, { ...SETTINGS, deadlineBudget: 3 }, random === undefined ? {} : { random });

    it("acquire drops at most the budget of expired keys, then answers CATCHING_UP having handed out nothing", () => {
      const clock = new ManualClock();
      const p = budgeted(clock, () => 0.999); // always draws the last available key
      const live = settled(p.create()); // first in the available array, so drawn last
      for (let i = 0; i < 7; i += 1) p.create();
      clock.advance(1);
      p.keepAlive(live.keyId);
      clock.advance(999); // the other seven have expired; `live` has 1 ms left
      expect(p.acquire()).to.equal(CATCHING_UP);
      expect(p.counts()).to.deep.equal({ total: 5, available: 5, leased: 0, cooling: 0 });
      expect(p.acquire()).to.equal(CATCHING_UP);
      expect(p.counts().total).to.equal(2);
      const got = p.acquire();
      expect(got).not.to.equal(CATCHING_UP);
      expect((got as { keyId: string }).keyId).to.equal(live.keyId);
      expect(p.counts()).to.deep.equal({ total: 1, available: 0, leased: 1, cooling: 0 });
    });

    it("acquire applies at most the budget of passed releases before drawing", () => {
      const clock = new ManualClock();
      const p = budgeted(clock);
      for (let i = 0; i < 10; i += 1) p.create();
      for (let i = 0; i < 10; i += 1) p.acquire();
      clock.advance(300);
      expect(p.acquire()).not.to.equal(CATCHING_UP);
      expect(p.counts()).to.deep.equal({ total: 10, available: 2, leased: 8, cooling: 0 });
    });

    it("expireDue applies exactly its budget, earliest first", () => {
      const clock = new ManualClock();
      const p = budgeted(clock);
      for (let i = 0; i < 10; i += 1) {
        p.create();
        clock.advance(1);
      }
      clock.advance(1000);
      expect(p.expireDue(4)).to.equal(4);
      expect(p.nextDeadline()).to.equal(clock.now() - 1000 - 10 + 4 + 1000);
    });

    it("create at capacity re-files at most a budget of early entries, then answers CATCHING_UP (never a wrong capacity_exhausted); the next try makes room", () => {
      const clock = new ManualClock();
      const t0 = clock.now();
      const p = new KeyPool(clock, { ...SETTINGS, maxKeys: 5, deadlineBudget: 3 });
      const kept = [settled(p.create()), settled(p.create()), settled(p.create())]; // filed at t0 + 1000
      clock.set(t0 + 1);
      const doomed = settled(p.create()); // expires at t0 + 1001
      clock.set(t0 + 2);
      p.create(); // expires at t0 + 1002
      clock.set(t0 + 500);
      for (const { keyId } of kept) p.keepAlive(keyId); // now expire at t0 + 1500, still filed at t0 + 1000
      clock.set(t0 + 1001);
      const work = p.deadlineWork;
      expect(p.create(), "three re-filings spent the budget before `doomed`").to.equal(CATCHING_UP);
      expect(p.deadlineWork - work).to.equal(3);
      expect(p.size).to.equal(5);
      const room = settled(p.create()); // the re-filed entries now sit at t0 + 1500: `doomed` is next, and expired
      expect(p.size).to.equal(5);
      expectKind(() => p.get(doomed.keyId), "not_found");
      expect(p.get(room.keyId).expiresAt).to.equal(t0 + 2001);
      for (const { keyId } of kept) expect(p.get(keyId).expiresAt).to.equal(t0 + 1500);
    });

    it("create at capacity refuses at once when no deadline has passed, and a budget of 0 makes no room but never refuses wrongly", () => {
      const clock = new ManualClock();
      const t0 = clock.now();
      const p = new KeyPool(clock, { ...SETTINGS, maxKeys: 2, deadlineBudget: 3 });
      p.create();
      clock.set(t0 + 1);
      p.create();
      clock.set(t0 + 999);
      expectKind(() => p.create(undefined, 0), "capacity_exhausted");
      expectKind(() => p.create(), "capacity_exhausted");
      clock.set(t0 + 1000); // the first key's expiry has passed
      expect(p.create(undefined, 0), "a spent turn: try again").to.equal(CATCHING_UP);
      expect(p.size).to.equal(2);
      expect(p.create()).not.to.equal(CATCHING_UP);
      expect(p.size).to.equal(2);
    });

    it("refuses a budget that is not a whole number of at least 1", () => {
      for (const deadlineBudget of [0, -1, 1.5, Number.NaN]) {
        expect(() => new KeyPool(new ManualClock(), { ...SETTINGS, deadlineBudget }), String(deadlineBudget)).to.throw(RangeError);
      }
    });
  });

  describe("size", () => {
    it("counts keys until their expiry is applied, then drops", () => {
      const clock = new ManualClock();
      const p = pool(clock);
      for (let i = 0; i < 3; i += 1) p.create();
      expect(p.size).to.equal(3);
      clock.advance(1000);
      expect(p.size).to.equal(3); // not swept yet
      expect(p.expireDue(Number.POSITIVE_INFINITY)).to.equal(3);
      expect(p.size).to.equal(0);
    });

    it("drops on delete and on a lazily noticed expiry", () => {
      const clock = new ManualClock();
      const p = pool(clock);
      const a = p.create();
      const b = p.create();
      p.delete(a.keyId);
      expect(p.size).to.equal(1);
      clock.advance(1000);
      expectKind(() => p.get(b.keyId), "not_found");
      expect(p.size).to.equal(0);
    });
  });

  it("draws a new id when newKeyId repeats a live one", () => {
    const [dup, fresh] = [randomKeyId(), randomKeyId()];
    const ids = [dup, dup, fresh];
    const p = pool(new ManualClock(), { newKeyId: () => ids.shift() as string });
    expect(p.create().keyId).to.equal(dup);
    expect(p.create().keyId).to.equal(fresh);
    expect(p.get(dup).keyId).to.equal(dup);
  });

  it("refuses an injected id that is not a canonical 128-bit base64url id", () => {
    for (const bad of ["dup", "A".repeat(21) + "B", "A".repeat(23), "A".repeat(21) + "+"]) {
      const p = pool(new ManualClock(), { newKeyId: () => bad });
      expect(() => p.create(), bad).to.throw(RangeError);
      expect(p.size).to.equal(0);
    }
  });

  it("reuses freed slots without leaking state into the new key", () => {
    const clock = new ManualClock();
    const p = pool(clock);
    const old = p.create();
    p.acquire();
    p.delete(old.keyId);
    clock.advance(5);
    const fresh = p.create();
    expect(fresh).to.deep.equal({
      keyId: fresh.keyId,
      createdAt: clock.now(),
      expiresAt: clock.now() + 1000,
      blockedAt: null,
      releaseAt: null,
      state: "available",
      ttlMs: 1000,
      lease: null,
    });
    expect(p.acquire().keyId).to.equal(fresh.keyId);
  });
});

describe("key ids", () => {
  it("randomKeyId makes unique 22-character base64url ids carrying 16 bytes", () => {
    const ids = new Set<string>();
    // Past several 256-id entropy batches, so refills are covered.
    for (let i = 0; i < 5000; i += 1) {
      const id = randomKeyId();
      expect(id).to.match(/^[A-Za-z0-9_-]{22}$/);
      expect(Buffer.from(id, "base64url")).to.have.length(16);
      ids.add(id);
    }
    expect(ids.size).to.equal(5000);
  });

  it("checkKeyId rejects the empty id and ids over 128 characters", () => {
    expect(MAX_KEY_ID_LENGTH).to.equal(128);
    expectKind(() => checkKeyId(""), "invalid_argument");
    expectKind(() => checkKeyId("a".repeat(129)), "invalid_argument");
  });

  it("checkKeyId passes through 1 and 128 characters, and any other string", () => {
    for (const id of ["a", "a".repeat(128), "not/url safe?", " "]) expect(checkKeyId(id)).to.equal(id);
  });

  it("checkKeyId counts characters as code points, not UTF-16 units", () => {
    const key = "\u{1F511}"; // one character, two code units
    expect(checkKeyId(key.repeat(128))).to.have.length(256);
    expectKind(() => checkKeyId(key.repeat(129)), "invalid_argument");
    expectKind(() => checkKeyId(key.repeat(64) + "a".repeat(65)), "invalid_argument");
    expect(checkKeyId("é".repeat(128))).to.have.length(128);
  });
});
