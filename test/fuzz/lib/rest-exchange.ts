import { connect } from "node:net";
import { type Http1Response, parseHttp1Response } from "./http1-response";

export type RestOutcome =
  | { readonly kind: "answered"; readonly response: Http1Response }
  /** The server closed the connection without sending a byte. */
  | { readonly kind: "closed-silently" }
  /** Bytes came that are not an HTTP/1.1 response, or stopped inside one. */
  | { readonly kind: "malformed"; readonly reason: string; readonly received: Buffer }
  /** Nothing complete within the time allowed. */
  | { readonly kind: "no-answer"; readonly received: Buffer };

export interface ExchangeOptions {
  /** The request's method as sent (a HEAD answer has no body). */
  readonly method: string;
  /** Half-close after writing: the client says it will send nothing more. */
  readonly halfClose: boolean;
  readonly timeoutMs: number;
}

/**
 * Sends `bytes` on a fresh TCP connection and reads the first final answer, then
 * closes the connection (a stream, text/event-stream, is closed once its headers are in).
 */
export function exchangeRaw(port: number, bytes: Buffer, options: ExchangeOptions): Promise<RestOutcome> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (outcome: RestOutcome): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    const examine = (closed: boolean): void => {
      const received = Buffer.concat(chunks);
      if (closed && received.length === 0) return finish({ kind: "closed-silently" });
      const parsed = parseHttp1Response(received, options.method, closed);
      if (parsed.kind === "done") finish({ kind: "answered", response: parsed.response });
      else if (parsed.kind === "malformed") finish({ kind: "malformed", reason: parsed.reason, received });
      else if (closed) finish({ kind: "malformed", reason: "the connection closed inside the response", received });
    };
    const timer = setTimeout(() => finish({ kind: "no-answer", received: Buffer.concat(chunks) }), options.timeoutMs);
    socket.on("data", (chunk: Buffer) => {
      chunks.push(chunk);
      examine(false);
    });
    socket.on("error", () => undefined); // a reset ends in "close" too
    socket.on("close", () => examine(true));
    socket.write(bytes);
    if (options.halfClose) socket.end();
  });
}
