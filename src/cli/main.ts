#!/usr/bin/env node
import { runCli } from "./cli";

/**
 * The `token-orchestrator` command (package.json `bin`): the real process around runCli.
 * The exit status is set, not forced with process.exit, so a long answer drains to stdout first.
 */

let interruption: AbortController | undefined;
const interrupted = (): AbortSignal => {
  if (interruption === undefined) {
    const controller = new AbortController();
    // `once`: a second Ctrl-C falls back to Node's default and ends the process at once.
    process.once("SIGINT", () => controller.abort());
    process.once("SIGTERM", () => controller.abort());
    interruption = controller;
  }
  return interruption.signal;
};

// A reader that goes away (`| head -1`) is the end of the output, not an error worth a stack trace.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(0);
  throw error;
});

void runCli(process.argv.slice(2), {
  env: process.env,
  writeOut: (text) => void process.stdout.write(text),
  writeErr: (text) => void process.stderr.write(text),
  interrupted,
}).then((code) => {
  process.exitCode = code;
});
