import { readFileSync } from "node:fs";
import { join } from "node:path";
import type Redis from "ioredis";

/** One Lua script per pool operation (bullmq's way); each runs atomically in one round trip. */
export const OPERATIONS = ["create", "acquire", "get", "release", "keep-alive", "delete", "counts", "list", "next-release", "sweep"] as const;
export type Operation = (typeof OPERATIONS)[number];

/** The pool's keys, in the order every script takes them as KEYS (see lua/prelude.lua). */
export const POOL_KEY_NAMES = ["expiry", "release", "available", "created", "blocked", "sweeper", "ttl", "lease", "hold", "seq", "freed", "revision", "events"] as const;
export const POOL_KEY_COUNT = POOL_KEY_NAMES.length;

/** The pool's Redis keys under a prefix; one hash tag keeps them all in one Redis Cluster slot. */
export function poolKeys(prefix: string): string[] {
  return POOL_KEY_NAMES.map((name) => `${prefix}{pool}:${name}`);
}

/** Script source: the shared prelude, then the operation. */
export function scriptSource(operation: Operation): string {
  const dir = join(__dirname, "lua");
  return `${readFileSync(join(dir, "prelude.lua"), "utf8")}\n${readFileSync(join(dir, `${operation}.lua`), "utf8")}`;
}

/** A script's result: integers and strings, nil for "not found". */
export type ScriptReply = null | number | (string | number)[];

/** What every script answers (lua/prelude.lua's answer()): its result and the key events it made, flat. */
export type ScriptAnswer = [ScriptReply, (string | number)[]];

export type ScriptRunner = (operation: Operation, keys: readonly string[], args: readonly (string | number)[]) => Promise<unknown>;

/**
 * Registers the scripts with ioredis, which runs them with EVALSHA and, on
 * NOSCRIPT (a restarted or flushed server), sends the source once and carries on.
 */
export function defineScripts(redis: Redis): ScriptRunner {
  for (const operation of OPERATIONS) {
    redis.defineCommand(commandName(operation), { lua: scriptSource(operation), numberOfKeys: POOL_KEY_COUNT });
  }
  return (operation, keys, args) => {
    const command = (redis as unknown as Record<string, (...a: (string | number)[]) => Promise<unknown>>)[commandName(operation)];
    if (command === undefined) throw new Error(`script ${operation} is not defined`);
    return command.call(redis, ...keys, ...args);
  };
}

function commandName(operation: Operation): string {
  return `tokens_${operation.replace("-", "_")}`;
}
