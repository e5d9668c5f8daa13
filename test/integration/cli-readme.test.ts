import { readFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "chai";
import { buildOnce } from "../support/build";
import { runCliInProcess, spawnCli } from "../support/cli";
import { startHarness, type Harness } from "../support/harness";
import { ROOT } from "../support/run";

/**
 * The README's CLI session ("### A session" under "## Command line: token-orchestrator"),
 * run in order against a fresh server, as a reader would type it: `npx token-orchestrator`
 * is the function the built bin calls, run in-process (`watch`, stopped by ^C, is the built
 * bin itself; test/integration/cli-bin.test.ts runs the bin through npx), the address
 * comes from TOKEN_ORCHESTRATOR_ADDRESS, and the README's key ids stand for the ones the
 * server hands out. Every output line must match: JSON with the same fields in the same
 * order and the same values but for key ids (bound on first sight) and instants.
 */

const PROMPT = "$ npx token-orchestrator ";
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
const KEY_ID = /^[A-Za-z0-9_-]{22}$/;

interface Step {
  readonly args: string[];
  /** From the comment: `# exit status N` (0 when there is none). */
  readonly exitStatus: number;
  /** Stdout then stderr, line by line; for watch, the lines before `^C`. */
  readonly output: string[];
}

/** The ```console block of the README's "A session", as steps. */
function readmeSession(): Step[] {
  const lines = readFileSync(join(ROOT, "README.md"), "utf8").split("\n");
  const section = lines.indexOf("## Command line: token-orchestrator");
  const heading = lines.findIndex((line, i) => i > section && line === "### A session");
  const open = lines.findIndex((line, i) => i > heading && line === "```console");
  const close = lines.findIndex((line, i) => i > open && line === "```");
  if (section < 0 || heading < 0 || open < 0 || close < 0) throw new Error("README.md has no ```console block under ### A session");
  const steps: { args: string[]; exitStatus: number; output: string[] }[] = [];
  for (const line of lines.slice(open + 1, close)) {
    if (line.startsWith(PROMPT)) {
      const [command = "", comment = ""] = line.slice(PROMPT.length).split(/\s+#\s+/, 2);
      steps.push({ args: command.trim().split(/\s+/), exitStatus: Number(/exit status (\d+)/.exec(comment)?.[1] ?? 0), output: [] });
    } else if (line !== "^C") {
      const step = steps[steps.length - 1];
      if (step === undefined) throw new Error(`output before the first command: ${line}`);
      step.output.push(line);
    }
  }
  return steps;
}

/** README key id → the server's, learned from the outputs. */
type Ids = Map<string, string>;

/** Checks one actual JSON value against the README's, binding key ids as they first appear. */
function matchJson(expected: unknown, actual: unknown, ids: Ids, path: string): void {
  if (typeof expected === "string" && RFC3339.test(expected)) {
    expect(actual, path).to.be.a("string").and.match(RFC3339);
  } else if (typeof expected === "string" && KEY_ID.test(expected)) {
    expect(actual, path).to.be.a("string").and.match(KEY_ID);
    const bound = ids.get(expected);
    if (bound === undefined) ids.set(expected, actual as string);
    else expect(actual, `${path}: the key id ${expected} stands for`).to.equal(bound);
  } else if (Array.isArray(expected)) {
    expect(actual, path).to.be.an("array").with.length(expected.length);
    expected.forEach((item, index) => matchJson(item, (actual as unknown[])[index], ids, `${path}[${index}]`));
  } else if (typeof expected === "object" && expected !== null) {
    expect(actual, path).to.be.an("object");
    const record = actual as Record<string, unknown>;
    expect(Object.keys(record), `${path}: fields`).to.deep.equal(Object.keys(expected));
    for (const [name, value] of Object.entries(expected)) matchJson(value, record[name], ids, `${path}.${name}`);
  } else {
    expect(actual, path).to.equal(expected);
  }
}

function matchLine(expected: string, actual: string, ids: Ids, where: string): void {
  let json: unknown;
  try {
    json = JSON.parse(expected) as unknown;
  } catch {
    expect(actual, where).to.equal(expected);
    return;
  }
  matchJson(json, JSON.parse(actual) as unknown, ids, where);
}

describe("the README's CLI session", function () {
  this.timeout(60_000);
  let h: Harness;
  before(async function () {
    this.timeout(180_000);
    await buildOnce();
    h = await startHarness();
  });
  after(() => h?.close());

  it("runs as written, each command printing what the README shows, with its exit status", async () => {
    const steps = readmeSession();
    expect(steps.map((step) => step.args[0])).to.include.members(["create", "acquire", "get", "keepalive", "release", "delete", "stats", "list", "watch"]);
    const env = { TOKEN_ORCHESTRATOR_ADDRESS: h.app.grpcAddress };
    const ids: Ids = new Map();
    for (const step of steps) {
      const args = step.args.map((arg) => ids.get(arg) ?? arg);
      const where = `token-orchestrator ${step.args.join(" ")}`;
      if (args[0] === "watch") {
        const watching = spawnCli(args, env);
        try {
          const lines = await watching.nextLines(step.output.length);
          step.output.forEach((line, index) => matchLine(line, lines[index] as string, ids, `${where}, line ${index + 1}`));
        } finally {
          watching.child.kill("SIGINT");
        }
        const { code, stderr } = await watching.exited;
        expect(stderr, where).to.equal("");
        expect(code, where).to.equal(step.exitStatus);
        continue;
      }
      const result = await runCliInProcess(args, env);
      expect(result.code, `${where}: exit status (stderr: ${result.stderr})`).to.equal(step.exitStatus);
      const printed = `${result.stdout}${result.stderr}`.split("\n").slice(0, -1);
      expect(printed, `${where}: the number of lines`).to.have.length(step.output.length);
      step.output.forEach((line, index) => matchLine(line, printed[index] as string, ids, where));
    }
    expect(ids.size, "the session's key ids").to.equal(1);
  });
});
