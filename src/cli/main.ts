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

// Deprecation warnings speak to the authors, not to whoever runs the command: grpc-js passes an IP
// address as the TLS server name (`--address 127.0.0.1:50051 --tls-ca ...`), which Node warns about
// (DEP0123) on stderr, where scripts read our error lines.
process.noDeprecation = true;

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
