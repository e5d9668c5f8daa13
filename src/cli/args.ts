import { parseArgs } from "node:util";
import { type Command, COMMANDS, findCommand, type PreparedCommand } from "./commands";
import { UsageError } from "./errors";
import { GLOBAL_OPTIONS, OptionValues, type OptionSpecs, parseArgsOptions, protectDashValues } from "./options";
import { durationMs, parseDuration } from "./values";

const DEFAULT_ADDRESS = "127.0.0.1:50051";
const DEFAULT_TIMEOUT = "10s";

/** Where and how to connect: the global options, with their environment fallbacks applied. */
export interface Connection {
  readonly address: string;
  readonly token: string | undefined;
  /** Undefined: plaintext. Files are named here and read when connecting. */
  readonly tls: { readonly caFile: string | undefined; readonly certFile: string | undefined; readonly keyFile: string | undefined } | undefined;
  readonly timeoutMs: number;
}

/** What the command line asks for. */
export type Invocation =
  | { readonly kind: "help"; readonly command: Command | undefined }
  | { readonly kind: "version" }
  | { readonly kind: "call"; readonly command: Command; readonly prepared: PreparedCommand; readonly connection: Connection };

type Env = Readonly<Record<string, string | undefined>>;

/** Every option any command declares: the first pass must know which ones take a value. */
const ANY_OPTION: OptionSpecs = Object.assign({}, GLOBAL_OPTIONS, ...COMMANDS.map((command) => command.options)) as OptionSpecs;

/**
 * Reads `token-orchestrator [options] COMMAND [operands] [options]`. Global options
 * may come before or after the command. The first pass (lenient, every option known)
 * only finds the command name; the second is strict, with the global options and
 * that command's own, so an option another command takes is refused by name.
 */
export function parseCommandLine(argv: readonly string[], env: Env): Invocation {
  const args = protectDashValues(argv, ANY_OPTION);
  const scan = parseArgs({ args, options: parseArgsOptions(ANY_OPTION), strict: false, allowPositionals: true, tokens: true });
  const first = scan.tokens.find((token) => token.kind === "positional");
  const wantsHelp = scan.values["help"] === true;
  if (scan.values["version"] === true && !wantsHelp) return { kind: "version" };
  if (first === undefined) {
    if (wantsHelp) return { kind: "help", command: undefined };
    throw new UsageError("no command given");
  }
  if (first.value === "help") {
    const topic = scan.positionals[1];
    return { kind: "help", command: topic === undefined ? undefined : known(topic) };
  }
  const command = known(first.value);
  if (wantsHelp) return { kind: "help", command };

  try {
    const rest = args.filter((_arg, index) => index !== first.index);
    const parsed = strictParse(command.name, rest, { ...GLOBAL_OPTIONS, ...command.options });
    const values = new OptionValues(parsed.values);
    const prepared = command.prepare(values, parsed.positionals);
    return { kind: "call", command, prepared, connection: connectionOf(values, env) };
  } catch (error) {
    throw error instanceof UsageError && error.command === undefined ? new UsageError(error.message, command.name) : error;
  }
}

function known(name: string): Command {
  const command = findCommand(name);
  if (command === undefined) throw new UsageError(`unknown command ${JSON.stringify(name)} (commands: ${COMMANDS.map((c) => c.name).join(", ")})`);
  return command;
}

function strictParse(name: string, args: string[], specs: OptionSpecs): ReturnType<typeof parseArgs> {
  try {
    return parseArgs({ args, options: parseArgsOptions(specs), strict: true, allowPositionals: true });
  } catch (error) {
    // util.parseArgs's messages are good in their first sentence ("Unknown option '--ttl'."); the
    // rest advises `--` for operands that begin with "-", which protectDashValues already handles.
    if (error instanceof TypeError && "code" in error && String(error.code).startsWith("ERR_PARSE_ARGS")) {
      const first = /^[^\n]*?\.(?=\s|$)|^[^\n]*/.exec(error.message)?.[0] ?? error.message;
      throw new UsageError(`${name}: ${first}`, name);
    }
    throw error;
  }
}

/** The options win over the environment; an empty variable counts as unset. */
function connectionOf(values: OptionValues, env: Env): Connection {
  const fromEnv = (name: string): string | undefined => (env[name] === "" ? undefined : env[name]);
  const address = values.string("address") ?? fromEnv("TOKEN_ORCHESTRATOR_ADDRESS") ?? DEFAULT_ADDRESS;
  if (address === "") throw new UsageError("--address: empty");
  const token = values.string("token") ?? fromEnv("TOKEN_ORCHESTRATOR_TOKEN");
  if (token === "") throw new UsageError("--token: empty");
  const caFile = values.string("tls-ca");
  const certFile = values.string("tls-cert");
  const keyFile = values.string("tls-key");
  if ((certFile === undefined) !== (keyFile === undefined)) throw new UsageError("--tls-cert and --tls-key go together");
  const tls = values.flag("tls") || caFile !== undefined || certFile !== undefined ? { caFile, certFile, keyFile } : undefined;
  const timeout = parseDuration("timeout", values.string("timeout") ?? DEFAULT_TIMEOUT);
  const timeoutMs = durationMs(timeout);
  if (timeoutMs === 0) throw new UsageError("--timeout: must be more than 0");
  return { address, token, tls, timeoutMs };
}
