import type { JsonValue } from "@bufbuild/protobuf";
import type { TokenClient } from "../../clients";
import { type Invocation, parseCommandLine } from "./args";
import { connect, type ReadFile } from "./connection";
import { describeServiceError, ExitCode, isServiceError, UsageError } from "./errors";
import { commandHelp, generalHelp, helpHint } from "./help";
import { jsonLine } from "./output";
import { packageVersion } from "./version";

/** The process around the CLI, injected: main.ts passes the real one. */
export interface CliIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  writeOut(text: string): void;
  writeErr(text: string): void;
  /** A signal aborted by SIGINT or SIGTERM; installs the handlers when first asked. */
  interrupted(): AbortSignal;
  readFile?: ReadFile;
}

const PREFIX = "token-orchestrator";

/** Runs one command line to its exit status. Never throws: every failure is a status and a line on stderr. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  let invocation: Invocation;
  try {
    invocation = parseCommandLine(argv, io.env);
  } catch (error) {
    return failed(error, io);
  }
  switch (invocation.kind) {
    case "help":
      io.writeOut(invocation.command === undefined ? generalHelp() : commandHelp(invocation.command));
      return ExitCode.OK;
    case "version":
      io.writeOut(`${packageVersion()}\n`);
      return ExitCode.OK;
    case "call":
      break;
  }
  let client: TokenClient;
  try {
    client = connect(invocation.connection, io.readFile);
  } catch (error) {
    return failed(error instanceof UsageError ? new UsageError(error.message, invocation.command.name) : error, io);
  }
  try {
    await invocation.prepared.run({
      client,
      timeoutMs: invocation.connection.timeoutMs,
      print: (json: JsonValue) => io.writeOut(jsonLine(json)),
      interrupted: io.interrupted,
    });
    return ExitCode.OK;
  } catch (error) {
    return failed(error, io);
  } finally {
    // Closing the channel lets the process exit once stdout has drained.
    client.close();
  }
}

function failed(error: unknown, io: CliIo): ExitCode {
  if (error instanceof UsageError) {
    io.writeErr(`${PREFIX}: ${error.message}\n${helpHint(error.command)}\n`);
    return ExitCode.USAGE;
  }
  if (isServiceError(error)) {
    io.writeErr(`${describeServiceError(error)}\n`);
    return ExitCode.FAILURE;
  }
  io.writeErr(`${PREFIX}: ${error instanceof Error ? error.message : String(error)}\n`);
  return ExitCode.FAILURE;
}
