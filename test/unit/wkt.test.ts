import { type DescMessage, type MessageShape, toBinary } from "@bufbuild/protobuf";
import { DurationSchema, durationFromMs, TimestampSchema, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { expect } from "chai";
import fc from "fast-check";
import { durationOf, timestampOf } from "../../src/service/wkt";

/** Ours and protobuf-es's: the same fields and the same bytes. */
function expectSame<S extends DescMessage>(schema: S, ours: MessageShape<S>, theirs: MessageShape<S>): void {
  expect(ours).to.deep.equal(theirs);
  expect(toBinary(schema, ours)).to.deep.equal(toBinary(schema, theirs));
}

describe("Timestamp and Duration literals (src/service/wkt.ts), against protobuf-es's own", () => {
  // Whole ms (the service's deadlines and lengths are whole ms) over the whole range a
  // Timestamp allows (years 1 to 9999), and the edges around zero and whole seconds.
  const instants = fc.oneof(
    fc.integer({ min: -62_135_596_800_000, max: 253_402_300_799_999 }),
    fc.constantFrom(0, -1, 1, 999, 1000, -999, -1000, -1001, 300_000),
  );

  it("timestampOf(ms) is timestampFromMs(ms): the same fields and the same bytes", () => {
    fc.assert(
      fc.property(instants, (ms) => expectSame(TimestampSchema, timestampOf(ms), timestampFromMs(ms))),
      { numRuns: 2000 },
    );
  });

  it("durationOf(ms) is durationFromMs(ms), negative lengths included, never a -0", () => {
    fc.assert(
      fc.property(instants, (ms) => {
        const ours = durationOf(ms);
        expectSame(DurationSchema, ours, durationFromMs(ms));
        expect(Object.is(ours.nanos, -0)).to.equal(false);
      }),
      { numRuns: 2000 },
    );
  });
});
