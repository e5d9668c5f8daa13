import { status as Code, type ServiceError } from "@grpc/grpc-js";

/** The exit statuses, documented in the README: scripts branch on them. */
export const ExitCode = {
  OK: 0,
  /** The call failed: the service answered an error, or could not be reached. */
  FAILURE: 1,
  /** The command line is wrong: nothing was sent. */
  USAGE: 2,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** A command line the CLI cannot act on: exit 2, the message on stderr, nothing sent. */
export class UsageError extends Error {
  override readonly name = "UsageError";

  /** `command`: the command being read, whose --help the hint points to. */
  constructor(
    message: string,
    readonly command?: string,
  ) {
    super(message);
  }
}

/** A grpc-js call failure: it carries a numeric status code and the server's message. */
export function isServiceError(error: unknown): error is ServiceError {
  return error instanceof Error && typeof (error as Partial<ServiceError>).code === "number" && typeof (error as Partial<ServiceError>).details === "string";
}

/**
 * The stderr line for a failed call: the code's name as gRPC spells it, then the
 * server's message (`NOT_FOUND: key not found`), so a script can match the name.
 * One line: grpc-js's own messages (a TLS alert from OpenSSL) can span several.
 */
export function describeServiceError(error: ServiceError): string {
  const name = Code[error.code] ?? `CODE_${error.code}`;
  const details = error.details.replace(/\s*\n\s*/g, " ").trim();
  return details === "" ? name : `${name}: ${details}`;
}
