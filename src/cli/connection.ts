import { readFileSync } from "node:fs";
import { createTokenClient, type TlsOptions, type TokenClient, type TokenClientOptions } from "../../clients";
import type { Connection } from "./args";
import { UsageError } from "./errors";

/** Reads a file the options name (injected so tests need no files). */
export type ReadFile = (path: string) => Buffer;

/** The typed client for `connection`, its TLS files read; an unreadable file is a usage error. */
export function connect(connection: Connection, readFile: ReadFile = readFileSync): TokenClient {
  const options: TokenClientOptions = {
    ...(connection.token === undefined ? {} : { token: connection.token }),
    ...(connection.tls === undefined ? {} : { tls: tlsOptions(connection.tls, readFile) }),
  };
  try {
    return createTokenClient(connection.address, options);
  } catch (error) {
    // grpc-js refuses a malformed address or PEM here, before any call.
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

function tlsOptions(tls: NonNullable<Connection["tls"]>, readFile: ReadFile): TlsOptions {
  const read = (option: string, path: string | undefined): { [name: string]: Buffer } => {
    if (path === undefined) return {};
    try {
      return { [option]: readFile(path) };
    } catch (error) {
      const reason = (error as NodeJS.ErrnoException).code ?? (error instanceof Error ? error.message : String(error));
      throw new UsageError(`--tls-${option}: cannot read ${JSON.stringify(path)} (${reason})`);
    }
  };
  return { ...read("ca", tls.caFile), ...read("cert", tls.certFile), ...read("key", tls.keyFile) };
}
