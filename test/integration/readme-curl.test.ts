import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { startHarness, type Harness } from "../support/harness";
import { httpRequest } from "../support/http-request";
import { ManualClock } from "../support/manual-clock";
import { ROOT, run } from "../support/run";

/**
 * The README's "REST (curl)" examples, run verbatim with the real curl against
 * the running service. Only the address (127.0.0.1:8080 → the harness's) and the
 * placeholder KEY_ID (→ a real key) are substituted; the comment after `#` is
 * what the command must print.
 */

const README_ADDRESS = "127.0.0.1:8080";
const CURL = "/usr/bin/curl";

interface Example {
  /** The line as the README has it, comment stripped. */
  readonly command: string;
  /** What the comment promises. */
  readonly comment: string;
  readonly method: string;
  /** The path in the README's URL, KEY_ID included. */
  readonly path: string;
}

/** The curl lines of the ```sh block under the heading `title`; throws when the section or block is missing. */
function readmeCurlExamples(title: string): Example[] {
  const lines = readFileSync(join(ROOT, "README.md"), "utf8").split("\n");
  const heading = lines.findIndex((line) => /^#{2,4}\s/.test(line) && line.replace(/^#+\s+/, "").trim() === title);
  if (heading < 0) throw new Error(`README.md has no "${title}" section`);
  const open = lines.findIndex((line, i) => i > heading && /^```sh\s*$/.test(line));
  const nextHeading = lines.findIndex((line, i) => i > heading && /^#{1,4}\s/.test(line));
  if (open < 0 || (nextHeading >= 0 && open > nextHeading)) throw new Error(`the "${title}" section has no \`\`\`sh block`);
  const close = lines.findIndex((line, i) => i > open && /^```\s*$/.test(line));
  if (close < 0) throw new Error("the ```sh block is not closed");
  return lines
    .slice(open + 1, close)
    .filter((line) => line.startsWith("curl"))
    .map((line) => {
      const hash = line.search(/\s#\s/);
      const command = (hash < 0 ? line : line.slice(0, hash)).trim();
      const comment = hash < 0 ? "" : line.slice(hash).replace(/^\s#\s/, "").trim();
      const url = /https?:\/\/[^\s'"]+/.exec(command)?.[0] ?? "";
      const method = /(?:^|\s)-X\s+([A-Z]+)/.exec(command)?.[1] ?? "GET";
      return { command, comment, method, path: url.replace(/^https?:\/\/[^/]+/, "") };
    });
}

const STRING = "\u0000string";
const ANY = "\u0000any";

interface Promised {
  readonly status: number;
  /** The promised body, "…" as placeholders; undefined when the comment names a document instead. */
  readonly body: Record<string, unknown> | undefined;
}

/**
 * Reads `200 {"keyId":"…"} (acquire); 404 {} …` as: status 200, a body with exactly
 * the key keyId holding a non-empty string. `"…"` is any non-empty string, a bare `…` (or `[…]`) any value.
 * Only the first status/body pair counts (the one the example's situation produces).
 */
function promiseOf(comment: string): Promised {
  const match = /^(\d{3})\s+(\{[^{}]*\})/.exec(comment);
  if (match === null) return { status: 200, body: undefined };
  const json = (match[2] as string)
    .replace(/\[…\]/g, JSON.stringify(ANY)) // a list of anything
    .replace(/"…"/g, JSON.stringify(STRING))
    .replace(/…/g, JSON.stringify(ANY));
  return { status: Number(match[1]), body: JSON.parse(json) as Record<string, unknown> };
}

function expectShape(actual: unknown, shape: Record<string, unknown>, what: string): void {
  expect(actual, what).to.be.an("object").and.not.equal(null);
  const body = actual as Record<string, unknown>;
  expect(Object.keys(body), what).to.deep.equal(Object.keys(shape));
  for (const [name, expected] of Object.entries(shape)) {
    const value = body[name];
    if (expected === STRING) {
      expect(value, `${what}: ${name}`).to.be.a("string").and.not.equal("");
    } else if (expected === ANY) {
      expect(value, `${what}: ${name}`).to.not.equal(undefined);
    } else {
      expect(value, `${what}: ${name}`).to.deep.equal(expected);
    }
    // Whatever the placeholder, protojson timestamps are RFC 3339 UTC strings or null.
    if (name.endsWith("At") && value !== null) expect(value, `${what}: ${name}`).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z$/);
  }
}

/** Runs one README command with curl; checks the promised status; answers the JSON it printed. */
async function runExample(command: string, comment: string, curlHome: string): Promise<{ promise: Promised; printed: string; body: unknown }> {
  const result = await run("bash", ["-c", command], {
    env: { ...process.env, PATH: `/usr/bin:/bin:${process.env["PATH"] ?? ""}`, CURL_HOME: curlHome },
    timeoutMs: 15_000,
  });
  expect(result.code, `${command}\nstderr: ${result.stderr}`).to.equal(0);
  const newline = result.stdout.lastIndexOf("\n");
  const printed = result.stdout.slice(0, newline);
  const status = Number(result.stdout.slice(newline + 1));
  const promise = promiseOf(comment);
  expect(status, `${command} printed ${printed}`).to.equal(promise.status);
  let body: unknown;
  expect(() => (body = JSON.parse(printed)), `${command} printed non-JSON: ${printed}`).to.not.throw();
  return { promise, printed, body };
}

/** A private curl home whose .curlrc prints the status after the body (and keeps the developer's own out). */
function makeCurlHome(): string {
  const home = mkdtempSync(join(tmpdir(), "readme-curl-"));
  writeFileSync(join(home, ".curlrc"), 'write-out = "\\n%{http_code}"\n');
  return home;
}

describe("README: the REST (curl) examples work verbatim", function () {
  this.timeout(30_000);
  const examples = readmeCurlExamples("REST (curl)");
  const clock = new ManualClock(Date.UTC(2026, 10, 25, 14, 3, 7, 123));
  let h: Harness;
  let keyId = "";
  let curlHome = "";

  before(async () => {
    h = await startHarness({ clock });
    // KEY_ID is a key made before the examples run, and a second one stays available, so the
    // README's acquire finds a key whichever one the create example made.
    for (let i = 0; i < 2; i += 1) {
      const res = await httpRequest(h.app.httpAddress, "/keys", { method: "POST" });
      expect(res.status, res.text).to.equal(201);
      if (i === 0) keyId = (res.json() as { keyId: string }).keyId;
    }
    // curl reads $CURL_HOME/.curlrc: an owned one keeps the developer's out, and adds the status
    // after the body, so the commands stay verbatim and the promised status is still checked.
    curlHome = makeCurlHome();
  });
  after(async () => {
    if (curlHome !== "") rmSync(curlHome, { recursive: true, force: true });
    await h.close();
  });

  it("the README's REST block shows every row of the contract table, healthz and openapi.json, in a workable order", () => {
    const shown = examples.map((example) => `${example.method} ${example.path}`);
    expect(shown).to.deep.equal([
      "POST /keys",
      "GET /keys",
      "GET /keys/KEY_ID",
      "PUT /keys/KEY_ID",
      "PUT /keepalive/KEY_ID",
      "DELETE /keys/KEY_ID",
      "GET /healthz",
      "GET /openapi.json",
    ]);
    for (const example of examples) {
      expect(example.command, example.command).to.include(`http://${README_ADDRESS}/`);
      expect(example.comment, `${example.command} has no comment saying what it prints`).to.not.equal("");
    }
  });

  for (const [index, example] of examples.entries()) {
    it(`#${index + 1} ${example.command}  # ${example.comment}`, async () => {
      const command = example.command.split(README_ADDRESS).join(h.app.httpAddress).split("KEY_ID").join(keyId);
      const { promise, printed, body } = await runExample(command, example.comment, curlHome);
      if (promise.body !== undefined) {
        expectShape(body, promise.body, `${command} → ${printed}`);
      } else if (/OpenAPI 3/.test(example.comment)) {
        const doc = body as { openapi?: unknown; info?: unknown; paths?: Record<string, unknown> };
        expect(doc.openapi, printed).to.be.a("string").and.match(/^3\.\d+\.\d+$/);
        expect(doc.info, printed).to.be.an("object");
        expect(doc.paths, printed).to.be.an("object");
        expect(Object.keys(doc.paths ?? {}), printed).to.include.members(["/keys"]);
      } else {
        expect.fail(`the comment "${example.comment}" promises no status and body this test can check`);
      }
    });
  }

  it("after the examples, KEY_ID is gone (the README's DELETE deleted it)", async () => {
    const res = await httpRequest(h.app.httpAddress, `/keys/${keyId}`);
    expect(res.status, res.text).to.equal(404);
    expect(await run(CURL, ["--version"])).to.have.property("code", 0);
  });
});

describe("README: the lease walkthrough (curl) runs in order, as written", function () {
  this.timeout(30_000);
  const examples = readmeCurlExamples("Leases, step by step (curl)");
  let h: Harness;
  let curlHome = "";
  /** KEY_ID and LEASE: the last keyId and lease the walkthrough's answers carried. */
  const latest = { KEY_ID: "", LEASE: "" };

  before(async () => {
    h = await startHarness(); // the real clock: the walkthrough waits out a real cooldown
    curlHome = makeCurlHome();
  });
  after(async () => {
    if (curlHome !== "") rmSync(curlHome, { recursive: true, force: true });
    await h.close();
  });

  it("shows each v2 feature: a lifetime, a hold, a renewal, a refused lease, a cooldown, a wait, stats and a list", () => {
    const shown = examples.map((example) => `${example.method} ${example.path.replace(/\?.*/, "")}`);
    expect(shown).to.deep.equal(["POST /keys", "GET /keys", "PUT /keepalive/KEY_ID", "PUT /keys/KEY_ID", "PUT /keys/KEY_ID", "GET /keys/KEY_ID", "GET /keys", "GET /stats", "GET /keys:list"]);
  });

  for (const [index, example] of examples.entries()) {
    it(`#${index + 1} ${example.command}  # ${example.comment}`, async () => {
      let command = example.command.split(README_ADDRESS).join(h.app.httpAddress);
      // Whole words only: LEASE is a placeholder, LEASED a state.
      for (const [placeholder, value] of Object.entries(latest)) command = command.replace(new RegExp(`\\b${placeholder}\\b`, "g"), value);
      const { promise, printed, body } = await runExample(command, example.comment, curlHome);
      expect(promise.body, `the comment "${example.comment}" promises a body`).to.not.equal(undefined);
      expectShape(body, promise.body as Record<string, unknown>, `${command} → ${printed}`);
      const answer = body as { keyId?: unknown; lease?: unknown };
      if (typeof answer.keyId === "string") latest.KEY_ID = answer.keyId;
      if (typeof answer.lease === "string") latest.LEASE = answer.lease;
    });
  }
});
