import { expect } from "chai";
import { goDurationToProtoJson } from "../../src/shared/go-duration";

describe("query durations, as Go's time.ParseDuration reads them", () => {
  it("reads every unit, fractions, sequences and signs, exactly, into protojson's form", () => {
    const cases: readonly (readonly [string, string])[] = [
      ["30s", "30s"],
      ["1500ms", "1.5s"],
      ["1m30s", "90s"],
      ["1.5h", "5400s"],
      ["2h45m", "9900s"],
      ["0", "0s"],
      ["0s", "0s"],
      ["-2s", "-2s"],
      ["+3s", "3s"],
      [".5s", "0.5s"],
      ["1.s", "1s"],
      ["250us", "0.00025s"],
      ["250µs", "0.00025s"],
      ["7ns", "0.000000007s"],
      ["1h1m1s1ms1us1ns", "3661.001001001s"],
      ["0.1ms", "0.0001s"],
    ];
    for (const [text, json] of cases) expect(goDurationToProtoJson(text), text).to.equal(json);
  });

  it("refuses what Go refuses: no unit, unknown units, blanks, empty, protojson's own long forms aside", () => {
    for (const text of ["", "5", "s", "5 s", "5sec", "1d", "5S", "1e3s", "--5s", "5s-", "1h-30m", "abc", "1..5s", "300000000h"]) {
      expect(goDurationToProtoJson(text), text).to.equal(undefined);
    }
  });
});
