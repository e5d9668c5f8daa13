import { expect } from "chai";
import fc from "fast-check";
import { EventLog, type RevisionedEvent } from "../../src/core/event-log";
import { KEY_EVENT_TYPES, type KeyEvent } from "../../src/core/events";
import { DomainError } from "../../src/core/errors";

const BASE64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** Canonical ids mostly (22 base64url characters), and the odd ones an injected generator may make. */
const keyId = fc.oneof(
  { arbitrary: fc.array(fc.constantFrom(...BASE64URL), { minLength: 22, maxLength: 22 }).map((chars) => chars.join("")), weight: 6 },
  { arbitrary: fc.string({ maxLength: 30 }), weight: 1 },
  { arbitrary: fc.string({ unit: "binary", minLength: 22, maxLength: 22 }), weight: 1 },
  { arbitrary: fc.constantFrom("k1", "", "é".repeat(22), "\u0000".repeat(22), "€".repeat(22), "a".repeat(21) + "😀".slice(0, 1)), weight: 1 },
);

const keyEvent: fc.Arbitrary<KeyEvent> = fc
  .record({ type: fc.constantFrom(...KEY_EVENT_TYPES), keyId, at: fc.integer({ min: 0, max: 2 ** 45 }), lease: fc.option(fc.integer({ min: 1, max: 2 ** 40 }), { nil: undefined }) })
  .map(({ lease, ...event }) => (lease === undefined ? event : { ...event, lease }));

describe("EventLog", () => {
  it("reads back exactly the events it holds, ids of every shape included, and refuses what it no longer holds", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), fc.array(keyEvent, { maxLength: 60, size: "max" }), (retention, events) => {
        const log = new EventLog(retention);
        const model: RevisionedEvent[] = [];
        for (const event of events) {
          const revision = log.append(event);
          model.push({ ...event, revision });
          expect(revision).to.equal(model.length);
        }
        const held = model.slice(-retention);
        expect(log.last).to.equal(model.length);
        expect(log.oldest).to.equal(held[0]?.revision ?? 1);
        expect(log.read(log.oldest, Number.POSITIVE_INFINITY)).to.deep.equal(held);
        expect(log.read(model.length + 1, 10)).to.deep.equal([]);
        if (model.length > retention) {
          expect(() => log.read(log.oldest - 1, 10))
            .to.throw(DomainError)
            .with.property("kind", "out_of_range");
        }
      }),
      { numRuns: 500 },
    );
  });

  it("an id of another shape is forgotten when its ring slot is reused, and the canonical id after it reads right", () => {
    const log = new EventLog(2);
    const canonical = "16QfNGaU2huBU_vLGv5yYQ";
    log.append({ type: "CREATED", keyId: "not-canonical", at: 1 });
    log.append({ type: "CREATED", keyId: canonical, at: 2 });
    log.append({ type: "DELETED", keyId: canonical, at: 3 }); // reuses the first slot
    expect(log.read(2, 10).map((event) => event.keyId)).to.deep.equal([canonical, canonical]);
  });
});
