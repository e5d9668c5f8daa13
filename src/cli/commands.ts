import type { JsonValue } from "@bufbuild/protobuf";
import type { AcquireRequest, CreateRequest, KeepAliveRequest, KeyInfo, ListRequest, ReleaseRequest, TokenClient, WatchRequest } from "../../clients";
import { UsageError } from "./errors";
import type { OptionSpecs, OptionValues } from "./options";
import { answerJson } from "./output";
import { durationMs, parseDuration, parseKeyState, parseWholeNumber } from "./values";

/** What a command needs to run: the client, the deadline, and where its JSON goes. */
export interface CommandContext {
  readonly client: TokenClient;
  /** Each call's deadline (--timeout), in milliseconds. */
  readonly timeoutMs: number;
  /** Writes one JSON document as one line of stdout. */
  print(json: JsonValue): void;
  /**
   * A signal aborted by SIGINT or SIGTERM. Only a command that runs until stopped
   * (watch) asks for it: the others keep the default, where Ctrl-C ends the process.
   */
  interrupted(): AbortSignal;
}

/** A command line read and checked: what will be sent, and how. */
export interface PreparedCommand {
  /** The request, for tests and error messages; the call itself is `run`. */
  readonly request: unknown;
  run(context: CommandContext): Promise<void>;
}

export interface Command {
  readonly name: string;
  /** The operands, by their placeholders (`KEY_ID`); every one is required. */
  readonly operands: readonly string[];
  readonly summary: string;
  /** A paragraph for the command's --help. */
  readonly description: string;
  readonly options: OptionSpecs;
  /** Reads the command's options and operands; throws UsageError. */
  prepare(values: OptionValues, operands: readonly string[]): PreparedCommand;
}

interface CommandSpec<R> extends Omit<Command, "prepare"> {
  request(values: OptionValues, operands: readonly string[]): R;
  run(context: CommandContext, request: R): Promise<void>;
}

/** A command whose request type stays checked between reading it and sending it. */
function command<R>(spec: CommandSpec<R>): Command {
  const { request: read, run, ...described } = spec;
  return {
    ...described,
    prepare(values, operands) {
      if (operands.length !== spec.operands.length) {
        const wanted = spec.operands.length === 0 ? "no operands" : spec.operands.join(" ");
        throw new UsageError(`${spec.name} takes ${wanted}, got ${operands.length === 0 ? "none" : operands.map((operand) => JSON.stringify(operand)).join(" ")}`);
      }
      const request = read(values, operands);
      return { request, run: (context) => run(context, request) };
    },
  };
}

const keyIdOf = (operands: readonly string[]): string => operands[0] as string;

/** An option's value through `parse` when it was given; nothing when it was not. */
function optional<K extends string, T>(values: OptionValues, option: string, field: K, parse: (option: string, text: string) => T): Partial<Record<K, T>> {
  const text = values.string(option);
  return text === undefined ? {} : ({ [field]: parse(option, text) } as Partial<Record<K, T>>);
}

const LEASE_OPTION = {
  lease: { type: "string", placeholder: "N", help: "act only if N is the key's current lease (else ABORTED); keepalive then renews the hold too" },
} as const;

const create = command<Partial<CreateRequest>>({
  name: "create",
  operands: [],
  summary: "make a new available key (admin)",
  description: "Makes a new available key and prints its id, expiry and granted lifetime.",
  options: { ttl: { type: "string", placeholder: "DURATION", help: "the key's lifetime (default: the service's KEY_TTL; clamped to [1s, MAX_KEY_TTL])" } },
  request: (values) => optional(values, "ttl", "ttl", parseDuration),
  run: async (context, request) => context.print(answerJson.create(await context.client.create(request, { timeoutMs: context.timeoutMs }))),
});

const acquire = command<Partial<AcquireRequest>>({
  name: "acquire",
  operands: [],
  summary: "lease an available key, chosen at random",
  description:
    "Leases an available key and prints its id, when the hold ends and the lease number. With no key available " +
    "(after waiting up to --wait) it fails with NOT_FOUND, exit status 1.",
  options: {
    "block-ttl": { type: "string", placeholder: "DURATION", help: "how long the hold lasts unless released (default: BLOCK_TTL; clamped to [1s, MAX_BLOCK_TTL])" },
    wait: { type: "string", placeholder: "DURATION", help: "with no key available, wait up to this long for one (default 0: answer at once)" },
  },
  request: (values) => ({ ...optional(values, "block-ttl", "blockTtl", parseDuration), ...optional(values, "wait", "wait", parseDuration) }),
  // The deadline runs on top of the wait: a 30 s wait must not be cut short by the 10 s default.
  run: async (context, request) => {
    const timeoutMs = context.timeoutMs + (request.wait === undefined ? 0 : durationMs(request.wait));
    context.print(answerJson.acquire(await context.client.acquire(request, { timeoutMs })));
  },
});

const get = command<{ keyId: string }>({
  name: "get",
  operands: ["KEY_ID"],
  summary: "print a key's state",
  description: "Prints a key's state: state, isBlocked, createdAt, expiresAt, ttl, and while held blockedAt, releaseAt (and lease while LEASED).",
  options: {},
  request: (_values, operands) => ({ keyId: keyIdOf(operands) }),
  run: async (context, request) => context.print(answerJson.get(await context.client.get(request, { timeoutMs: context.timeoutMs }))),
});

const release = command<Partial<ReleaseRequest>>({
  name: "release",
  operands: ["KEY_ID"],
  summary: "give a key back (prints {})",
  description: "Releases a key: available again at once, or COOLING until the --cooldown ends. Prints {}.",
  options: {
    ...LEASE_OPTION,
    cooldown: { type: "string", placeholder: "DURATION", help: "keep the key COOLING this long before it is available again (clamped to MAX_BLOCK_TTL)" },
  },
  request: (values, operands) => ({
    keyId: keyIdOf(operands),
    ...optional(values, "lease", "lease", parseWholeNumber),
    ...optional(values, "cooldown", "cooldown", parseDuration),
  }),
  run: async (context, request) => context.print(answerJson.release(await context.client.release(request, { timeoutMs: context.timeoutMs }))),
});

const keepalive = command<Partial<KeepAliveRequest>>({
  name: "keepalive",
  operands: ["KEY_ID"],
  summary: "renew a key's lifetime (and with --lease its hold)",
  description: "Renews the key's lifetime to now + its ttl; with its current --lease, renews the hold too. Prints the new expiresAt (and releaseAt).",
  options: LEASE_OPTION,
  request: (values, operands) => ({ keyId: keyIdOf(operands), ...optional(values, "lease", "lease", parseWholeNumber) }),
  run: async (context, request) => context.print(answerJson.keepAlive(await context.client.keepAlive(request, { timeoutMs: context.timeoutMs }))),
});

const remove = command<{ keyId: string }>({
  name: "delete",
  operands: ["KEY_ID"],
  summary: "remove a key, whatever its state (admin; prints {})",
  description: "Removes the key, whatever its state. Prints {}.",
  options: {},
  request: (_values, operands) => ({ keyId: keyIdOf(operands) }),
  run: async (context, request) => context.print(answerJson.delete(await context.client.delete(request, { timeoutMs: context.timeoutMs }))),
});

const stats = command<Record<string, never>>({
  name: "stats",
  operands: [],
  summary: "count the keys by state (admin)",
  description: "Prints how many keys there are: total, available, leased and cooling.",
  options: {},
  request: () => ({}),
  run: async (context, request) => context.print(answerJson.stats(await context.client.stats(request, { timeoutMs: context.timeoutMs }))),
});

interface ListCommandRequest {
  readonly request: Partial<ListRequest>;
  /** Follow nextPageToken to the last page. */
  readonly all: boolean;
}

const list = command<ListCommandRequest>({
  name: "list",
  operands: [],
  summary: "list keys, a page at a time, or --all (admin)",
  description:
    'Prints a page of keys as {"keys":[…],"nextPageToken":"…"}; pass nextPageToken to --page-token for the next page ' +
    '(it is "" on the last). With --all, follows the pages itself and prints every key in one document of the same shape.',
  options: {
    "page-size": { type: "string", placeholder: "N", help: "keys per page, at most 1000 (default 100); a page may hold fewer while more follow" },
    "page-token": { type: "string", placeholder: "TOKEN", help: "the nextPageToken of the page before (default: the first page)" },
    state: { type: "string", placeholder: "STATE", help: "only keys in this state: AVAILABLE, LEASED or COOLING" },
    all: { type: "boolean", help: "every page, from --page-token (or the first) to the last" },
  },
  request: (values) => ({
    request: {
      ...optional(values, "page-size", "pageSize", (option, text) => parseWholeNumber(option, text, 2 ** 32 - 1)),
      ...optional(values, "page-token", "pageToken", (_option, text) => text),
      ...optional(values, "state", "state", parseKeyState),
    },
    all: values.flag("all"),
  }),
  run: async (context, { request, all }) => {
    const call = (pageToken: string | undefined) =>
      context.client.list(pageToken === undefined ? request : { ...request, pageToken }, { timeoutMs: context.timeoutMs });
    const first = await call(undefined);
    if (!all) {
      context.print(answerJson.list(first));
      return;
    }
    const keys: KeyInfo[] = [...first.keys];
    for (let pageToken = first.nextPageToken; pageToken !== ""; ) {
      const page = await call(pageToken);
      keys.push(...page.keys);
      pageToken = page.nextPageToken;
    }
    context.print(answerJson.list({ keys, nextPageToken: "" }));
  },
});

const watch = command<Partial<WatchRequest>>({
  name: "watch",
  operands: [],
  summary: "print key events as they happen, one JSON line each, until Ctrl-C (admin)",
  description:
    "Prints every key event (CREATED, ACQUIRED, RELEASED, AUTO_RELEASED, COOLDOWN_STARTED, KEPT_ALIVE, EXPIRED, DELETED) " +
    "as one JSON line, from --start-revision or from now on, until SIGINT or SIGTERM (exit status 0). If the service " +
    "ends the stream with an error (OUT_OF_RANGE: the revision is no longer retained; UNAVAILABLE: it is shutting down, " +
    "its message naming the revision to resume from, or the connection dropped) the exit status is 1.",
  options: {
    "start-revision": { type: "string", placeholder: "N", help: "the first revision to print, inclusive, if still retained (default 0: from the next event on)" },
  },
  request: (values) => optional(values, "start-revision", "startRevision", parseWholeNumber),
  // No deadline: a watch runs until it is stopped.
  run: async (context, request) => {
    for await (const event of context.client.watch(request, { signal: context.interrupted() })) context.print(answerJson.event(event));
  },
});

/** Every command, in the order --help lists them. */
export const COMMANDS: readonly Command[] = [create, acquire, get, release, keepalive, remove, stats, list, watch];

export function findCommand(name: string): Command | undefined {
  return COMMANDS.find((candidate) => candidate.name === name);
}
