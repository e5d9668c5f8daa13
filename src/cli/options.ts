import type { ParseArgsConfig } from "node:util";

/** One `--name` option: how util.parseArgs reads it, and how --help shows it. */
export interface OptionSpec {
  readonly type: "string" | "boolean";
  readonly short?: string;
  /** What the value is, in --help (`DURATION`, `FILE`); string options only. */
  readonly placeholder?: string;
  readonly help: string;
}

export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

/** Options every command takes, before or after the command name. */
export const GLOBAL_OPTIONS = {
  address: { type: "string", placeholder: "HOST:PORT", help: "the service's gRPC address (default 127.0.0.1:50051, or TOKEN_ORCHESTRATOR_ADDRESS)" },
  token: { type: "string", placeholder: "TOKEN", help: "bearer token sent with every call (default TOKEN_ORCHESTRATOR_TOKEN, which keeps it out of ps)" },
  tls: { type: "boolean", help: "use TLS, trusting the system's root CAs" },
  "tls-ca": { type: "string", placeholder: "FILE", help: "use TLS, trusting the CA certificate (PEM) in FILE" },
  "tls-cert": { type: "string", placeholder: "FILE", help: "client certificate (PEM) for mutual TLS; needs --tls-key" },
  "tls-key": { type: "string", placeholder: "FILE", help: "the client certificate's private key (PEM); needs --tls-cert" },
  timeout: { type: "string", placeholder: "DURATION", help: "deadline of each call (default 10s; acquire adds --wait; watch has none)" },
  help: { type: "boolean", short: "h", help: "show help (for a command: token-orchestrator COMMAND --help)" },
  version: { type: "boolean", help: "print the version" },
} as const satisfies OptionSpecs;

/** util.parseArgs's option table for `specs`. */
export function parseArgsOptions(specs: OptionSpecs): NonNullable<ParseArgsConfig["options"]> {
  return Object.fromEntries(
    Object.entries(specs).map(([name, spec]) => [name, spec.short === undefined ? { type: spec.type } : { type: spec.type, short: spec.short }]),
  );
}

/** Option values as util.parseArgs returns them, read by name and type. */
export class OptionValues {
  constructor(private readonly values: Readonly<Record<string, string | boolean | (string | boolean)[] | undefined>>) {}

  string(name: string): string | undefined {
    const value = this.values[name];
    return typeof value === "string" ? value : undefined;
  }

  flag(name: string): boolean {
    return this.values[name] === true;
  }
}

/**
 * Key ids are 22 base64url characters, and 1 in 64 begins with "-": util.parseArgs
 * would read such an id as options. An argument of that exact shape that is not an
 * option we declare is a key id.
 */
const KEY_ID_LIKE = /^-[A-Za-z0-9_-]{21}$/;

/**
 * Rewrites `argv` so that util.parseArgs reads values that begin with "-" as values:
 * a string option's value (`--page-token -x…`) becomes `--page-token=-x…`, and a key id
 * (`release -AbC… --lease 3`) moves behind `--`, where only operands go. A value that
 * is itself a declared option (`--address --token T`) is left alone, so parseArgs
 * still reports the missing value.
 */
export function protectDashValues(argv: readonly string[], specs: OptionSpecs): string[] {
  const declared = (arg: string): OptionSpec | undefined => {
    if (arg.startsWith("--")) return specs[arg.slice(2).split("=", 1)[0] as string];
    return arg.length === 2 ? Object.values(specs).find((spec) => spec.short === arg.slice(1)) : undefined;
  };
  const options: string[] = [];
  const operands: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === "--") {
      operands.push(...argv.slice(i + 1));
      break;
    }
    const spec = declared(arg);
    const next = argv[i + 1];
    if (spec?.type === "string" && !arg.includes("=") && next !== undefined && next.startsWith("-") && declared(next) === undefined && next !== "--") {
      options.push(`${arg}=${next}`);
      i++;
    } else if (spec === undefined && KEY_ID_LIKE.test(arg)) {
      operands.push(arg);
    } else {
      options.push(arg);
    }
  }
  return operands.length === 0 ? options : [...options, "--", ...operands];
}
