import { expect } from "chai";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { example } from "../../clients/example";
import { leaseExample } from "../../clients/lease-example";
import { streamsExample } from "../../clients/streams-example";
import { withKeyExample } from "../../clients/with-key-example";
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

describe("the README's lease example", () => {
  it("is clients/lease-example.ts verbatim", () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const source = readFileSync(join(ROOT, "clients", "lease-example.ts"), "utf8");
    expect(readme).to.contain("```ts\n" + source + "```");
  });

  it("runs against a live server, and each step does what its comment says", async () => {
    const h = await startHarness();
    const printed: unknown[][] = [];
    const log = console.log;
    console.log = (...args: unknown[]) => void printed.push(args);
    try {
      await leaseExample(h.app.grpcAddress);
    } finally {
      console.log = log;
      await h.close();
    }
    const said = new Map(printed.map(([label, value]) => [label, value]));
    expect(said.get("lifetime granted:")).to.equal(600);
    expect(Date.parse(String(said.get("hold renewed to:"))) - Date.now()).to.be.within(80_000, 90_000);
    expect(said.get("stale lease refused:")).to.equal(true);
    expect(said.get("cooling:")).to.equal(true);
    expect(said.get("stats:")).to.deep.equal({ total: 1, available: 0, leased: 0, cooling: 1 });
    expect(said.get("cooling keys listed:")).to.equal(1);
    const codes = h.logs.filter((line) => line["msg"] === "call").map((line) => [line["method"], line["code"]]);
    expect(codes.filter(([, code]) => code !== 0)).to.deep.equal([["/tokens.v1.TokenService/Release", 10]]);
  });
});

describe("the README's withKey example", () => {
  it("is clients/with-key-example.ts verbatim", () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const source = readFileSync(join(ROOT, "clients", "with-key-example.ts"), "utf8");
    expect(readme).to.contain("```ts\n" + source + "```");
  });

  it("runs against a live server: the key is kept past its hold, then released with the lease", async () => {
    const h = await startHarness();
    const printed: unknown[][] = [];
    const log = console.log;
    console.log = (...args: unknown[]) => void printed.push(args);
    try {
      await withKeyExample(h.app.grpcAddress);
    } finally {
      console.log = log;
      await h.close();
    }
    expect(printed).to.deep.equal([
      ["still ours after 2.5 s:", true],
      ["released:", true],
    ]);
    const events = h.logs.filter((line) => line["msg"] === "key event");
    const acquired = events.find((line) => line["event"] === "ACQUIRED");
    const renewed = events.filter((line) => line["event"] === "KEPT_ALIVE" && line["lease"] === acquired?.["lease"]);
    // About every third of the 1 s hold (7 in 2.5 s); a busy machine delays timers, so fewer, but at least one per hold.
    expect(renewed.length, "renewed about every third of the 1 s hold").to.be.within(3, 9);
    expect(events.filter((line) => line["event"] === "RELEASED").map((line) => line["lease"])).to.deep.equal([acquired?.["lease"]]);
    expect(events.filter((line) => line["event"] === "AUTO_RELEASED"), "the hold never ran out").to.deep.equal([]);
  });
});

describe("the README's streams example", () => {
  it("is clients/streams-example.ts verbatim", () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const source = readFileSync(join(ROOT, "clients", "streams-example.ts"), "utf8");
    expect(readme).to.contain("```ts\n" + source + "```");
  });

  it("runs against a live server: the watch sees the changes in order, the stream answers each renewal", async () => {
    const h = await startHarness();
    const printed: unknown[][] = [];
    const log = console.log;
    console.log = (...args: unknown[]) => void printed.push(args);
    try {
      await streamsExample(h.app.grpcAddress);
    } finally {
      console.log = log;
      await h.close();
    }
    expect(printed).to.deep.equal([
      ["event:", 1, "CREATED"],
      ["event:", 2, "CREATED"],
      ["event:", 3, "ACQUIRED"],
      ["event:", 4, "KEPT_ALIVE"],
      ["codes:", ["OK", "OK", "NOT_FOUND"]],
    ]);
  });
});
