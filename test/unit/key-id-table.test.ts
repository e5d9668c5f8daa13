import { expect } from "chai";
import fc from "fast-check";
import { randomIdBytes, randomKeyId } from "../../src/core/key-id";
import { decodeKeyId, encodeKeyId, KeyIdTable } from "../../src/core/key-id-table";

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const idString = fc.string({ unit: fc.constantFrom(...ALPHABET), minLength: 22, maxLength: 22 });
const idBytes = fc.uint8Array({ minLength: 16, maxLength: 16 });

describe("key id encoding", () => {
  it("round-trips any 16 bytes through the 22-character spelling (property)", () => {
    fc.assert(
      fc.property(idBytes, (bytes) => {
        const words = new Int32Array(bytes.slice().buffer);
        const text = encodeKeyId(words, 0);
        expect(text).to.equal(Buffer.from(bytes).toString("base64url"));
        const out = new Uint8Array(16);
        expect(decodeKeyId(text, out)).to.equal(true);
        expect([...out]).to.deep.equal([...bytes]);
      }),
    );
  });

  it("accepts exactly the canonical spellings: one string per id (property)", () => {
    fc.assert(
      fc.property(idString, (text) => {
        const out = new Uint8Array(16);
        const canonical = Buffer.from(text, "base64url").toString("base64url") === text;
        expect(decodeKeyId(text, out)).to.equal(canonical);
      }),
    );
  });

  it("rejects wrong lengths and characters outside the URL-safe alphabet", () => {
    const out = new Uint8Array(16);
    const good = randomKeyId();
    for (const bad of ["", good.slice(1), good + "A", good.slice(0, 5) + "+" + good.slice(6), good.slice(0, 5) + "é" + good.slice(6), good.slice(0, 5) + "\u{1F511}".slice(0, 1) + good.slice(6)]) {
      expect(decodeKeyId(bad, out), bad).to.equal(false);
    }
  });
});

describe("KeyIdTable", () => {
  const command = fc.oneof(
    fc.record({ kind: fc.constant("add" as const), slot: fc.nat(300) }),
    fc.record({ kind: fc.constant("remove" as const), slot: fc.nat(300) }),
    fc.record({ kind: fc.constant("find" as const), slot: fc.nat(300) }),
  );

  it("agrees with a Map on every answer through random adds, removes and finds (property)", () => {
    fc.assert(
      fc.property(fc.array(command, { maxLength: 400, size: "max" }), fc.array(idString, { minLength: 301, maxLength: 301 }), (commands, texts) => {
        // Canonical ids per slot; small hash-table capacities force long probe runs and wrap-around.
        const idOf = texts.map((text) => Buffer.from(Buffer.from(text, "base64url")).toString("base64url"));
        const table = new KeyIdTable();
        const model = new Map<string, number>();
        const slotIds = new Map<number, string>();
        for (const { kind, slot } of commands) {
          const id = idOf[slot] as string;
          if (kind === "add") {
            if (slotIds.has(slot)) continue; // a slot holds one key at a time
            const added = table.add(slot, id);
            expect(added).to.equal(!model.has(id));
            if (added) {
              model.set(id, slot);
              slotIds.set(slot, id);
            }
          } else if (kind === "remove") {
            if (!slotIds.has(slot)) continue;
            table.remove(slot);
            model.delete(slotIds.get(slot) as string);
            slotIds.delete(slot);
          }
          expect(table.find(id)).to.equal(model.get(id) ?? -1);
          expect(table.size).to.equal(model.size);
        }
        for (const [id, slot] of model) {
          expect(table.find(id)).to.equal(slot);
          expect(table.keyIdOf(slot)).to.equal(id);
        }
      }),
      { numRuns: 200 },
    );
  });

  it("keeps every id findable through growth and removal of half of 20000", () => {
    const table = new KeyIdTable();
    const ids: string[] = [];
    for (let slot = 0; slot < 20_000; slot += 1) {
      ids.push(table.addRandom(slot, randomIdBytes));
    }
    for (let slot = 0; slot < 20_000; slot += 2) table.remove(slot);
    ids.forEach((id, slot) => expect(table.find(id)).to.equal(slot % 2 === 1 ? slot : -1));
    expect(table.size).to.equal(10_000);
  });
});
