import { expect } from "chai";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { example } from "../../clients/example";
import { startHarness } from "../support/harness";
import { ROOT } from "../support/run";

describe("the README's client example", () => {
  it("is clients/example.ts verbatim", () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const source = readFileSync(join(ROOT, "clients", "example.ts"), "utf8");
    expect(readme).to.contain("```ts\n" + source + "```");
  });

  it("runs against a live server", async () => {
    const h = await startHarness();
    const printed: unknown[][] = [];
    const log = console.log;
    console.log = (...args: unknown[]) => void printed.push(args);
    try {
      await example(h.app.grpcAddress);
    } finally {
      console.log = log;
      await h.close();
    }
    expect(printed).to.have.length(1);
    expect(printed[0]?.[1]).to.equal(true);
    expect(h.logs.filter((line) => line["msg"] === "call").map((line) => line["code"])).to.deep.equal([0, 0, 0, 0, 0]);
  });
});
