import { expect } from "chai";
import type { RunResult } from "./run";

/** A successful run: exit 0, nothing on stderr, one JSON document on one line; returns it. */
export function okJson(result: RunResult): Record<string, unknown> {
  expect(result.stderr, "stderr").to.equal("");
  expect(result.code, "exit status").to.equal(0);
  expect(result.stdout).to.match(/^[^\n]+\n$/, "one line of stdout");
  return JSON.parse(result.stdout) as Record<string, unknown>;
}

/** A failed call: exit 1, nothing on stdout, `line` on stderr. */
export function failedWith(result: RunResult, line: string | RegExp): void {
  expect(result.stdout, "stdout").to.equal("");
  if (typeof line === "string") expect(result.stderr).to.equal(`${line}\n`);
  else expect(result.stderr).to.match(line);
  expect(result.code, "exit status").to.equal(1);
}
