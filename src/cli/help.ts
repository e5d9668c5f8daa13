import { type Command, COMMANDS } from "./commands";
import { GLOBAL_OPTIONS, type OptionSpecs } from "./options";

const NAME = "token-orchestrator";

const EXIT_STATUS = [
  "Exit status:",
  "  0  success: the answer is on stdout",
  "  1  the call failed: the gRPC code name and message on stderr (NOT_FOUND: key not found)",
  "  2  usage error: nothing was sent",
];

/** `token-orchestrator --help`: every command and every global option. */
export function generalHelp(): string {
  const width = Math.max(...COMMANDS.map((command) => synopsis(command).length));
  return lines([
    `Usage: ${NAME} [options] COMMAND [operands] [options]`,
    "",
    "Calls tokens.v1.TokenService over gRPC and prints the answer as JSON (protojson, one line) on stdout.",
    "",
    "Commands:",
    ...COMMANDS.map((command) => `  ${synopsis(command).padEnd(width)}  ${command.summary}`),
    "",
    "Options:",
    ...optionLines(GLOBAL_OPTIONS),
    "",
    ...EXIT_STATUS,
    "",
    `Durations are written as Go writes them: 600s, 1.5s, 250ms, 1m30s. A key id that begins with "-" may be given as it is, or after --.`,
    `Run '${NAME} COMMAND --help' for a command's own options.`,
  ]);
}

/** `token-orchestrator COMMAND --help`: the command's synopsis, its options, then the global ones. */
export function commandHelp(command: Command): string {
  const own = Object.keys(command.options).length === 0 ? [] : ["Options:", ...optionLines(command.options), ""];
  return lines([
    `Usage: ${NAME} ${synopsis(command)}${Object.keys(command.options).length === 0 ? "" : " [options]"}`,
    "",
    command.description,
    "",
    ...own,
    "Global options:",
    ...optionLines(GLOBAL_OPTIONS),
    "",
    ...EXIT_STATUS,
  ]);
}

/** The one-line pointer printed under a usage error: to the command's help when there is a command. */
export function helpHint(command: string | undefined): string {
  return `Run '${NAME}${command === undefined ? "" : ` ${command}`} --help' for usage.`;
}

function synopsis(command: Command): string {
  return [command.name, ...command.operands].join(" ");
}

function optionLines(specs: OptionSpecs): string[] {
  const names = Object.entries(specs).map(([name, spec]) => {
    const long = `--${name}${spec.placeholder === undefined ? "" : ` ${spec.placeholder}`}`;
    return spec.short === undefined ? long : `-${spec.short}, ${long}`;
  });
  const width = Math.max(...names.map((name) => name.length));
  return Object.values(specs).map((spec, index) => `  ${(names[index] as string).padEnd(width)}  ${spec.help}`);
}

function lines(all: readonly string[]): string {
  return `${all.join("\n")}\n`;
}
