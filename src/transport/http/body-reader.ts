import type { IncomingMessage } from "node:http";

/** Why a body was refused: too large (413) or broken off (the client went away). */
export class BodyError extends Error {
  override readonly name = "BodyError";

  constructor(
    readonly status: 413 | 415 | 400,
    message: string,
  ) {
    super(message);
  }
}

/** Whether the request announces a body (RFC 9112 §6.3): a Content-Length above 0 or a Transfer-Encoding. */
export function hasBody(req: IncomingMessage): boolean {
  const length = req.headers["content-length"];
  return req.headers["transfer-encoding"] !== undefined || (length !== undefined && length !== "0");
}

/**
 * Reads a request body of at most `limit` bytes. A Content-Length above the limit
 * is refused before a byte is read; a body without one (chunked) is counted as it
 * arrives and refused the moment it passes the limit. Either way nothing more is
 * read: the caller answers 413 and closes the connection. Resolves to undefined
 * when there is no body.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  if (!hasBody(req) || req.readableEnded) return Promise.resolve(undefined);
  const refused = refusal(req, limit);
  if (refused !== undefined) return Promise.reject(refused);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const stop = (error: BodyError): void => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.pause();
      reject(error);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) stop(tooLarge());
      else chunks.push(chunk);
    };
    const onEnd = (): void => resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size));
    req.on("data", onData);
    req.once("end", onEnd);
    req.once("aborted", () => stop(new BodyError(400, "the request body was cut short")));
    req.once("error", () => stop(new BodyError(400, "the request body could not be read")));
  });
}

/**
 * What the headers alone refuse, before a byte of the body is read: a declared
 * length over the limit (413), or a content coding the service does not decode (415).
 */
function refusal(req: IncomingMessage, limit: number): BodyError | undefined {
  if (Number(req.headers["content-length"]) > limit) return tooLarge();
  const coding = req.headers["content-encoding"];
  if (coding !== undefined && coding.trim().toLowerCase() !== "identity") return new BodyError(415, "unsupported content-encoding: send the body uncompressed");
  return undefined;
}

function tooLarge(): BodyError {
  return new BodyError(413, "request body too large");
}
