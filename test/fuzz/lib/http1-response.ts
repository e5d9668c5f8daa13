/**
 * An HTTP/1.1 response parser for raw sockets: the fuzz talks to the server over plain
 * TCP so it can send what no HTTP client would, and so reads the answer itself too.
 * Interim (1xx) answers are skipped; the body is framed by Transfer-Encoding: chunked,
 * Content-Length, or the connection's end (RFC 9112 §6.3); HEAD, 204 and 304 have none.
 */
export interface Http1Response {
  readonly version: string;
  readonly status: number;
  readonly reason: string;
  /** Header names lower-cased, in the order sent, duplicates kept. */
  readonly headers: readonly (readonly [string, string])[];
  readonly body: Buffer;
  /** True for a stream (text/event-stream) read only up to its headers. */
  readonly streaming: boolean;
}

export type ParseResult =
  | { readonly kind: "incomplete" }
  | { readonly kind: "done"; readonly response: Http1Response }
  | { readonly kind: "malformed"; readonly reason: string };

const INCOMPLETE: ParseResult = { kind: "incomplete" };

/**
 * Parses the first final response in `bytes`. `closed`: the server closed the
 * connection, so a body without framing ends here. `method`: the request's, since a
 * HEAD answer has headers that describe a body it does not carry.
 */
export function parseHttp1Response(bytes: Buffer, method: string, closed: boolean): ParseResult {
  let at = 0;
  for (;;) {
    const end = bytes.indexOf("\r\n\r\n", at, "latin1");
    if (end < 0) return closed && bytes.length > at ? { kind: "malformed", reason: "the connection closed inside the response head" } : INCOMPLETE;
    const head = bytes.subarray(at, end).toString("latin1");
    const [statusLine = "", ...lines] = head.split("\r\n");
    const match = /^(HTTP\/\d\.\d) (\d{3})(?: (.*))?$/.exec(statusLine);
    if (match === null) return { kind: "malformed", reason: `bad status line ${JSON.stringify(statusLine.slice(0, 80))}` };
    const headers: [string, string][] = [];
    for (const line of lines) {
      const colon = line.indexOf(":");
      if (colon <= 0) return { kind: "malformed", reason: `bad header line ${JSON.stringify(line.slice(0, 80))}` };
      headers.push([line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()]);
    }
    const status = Number(match[2]);
    const bodyStart = end + 4;
    if (status >= 100 && status < 200) {
      at = bodyStart; // interim answer (100 Continue): the final one follows
      continue;
    }
    const base = { version: match[1] as string, status, reason: match[3] ?? "", headers };
    return bodyOf(bytes.subarray(bodyStart), base, method, closed);
  }
}

function bodyOf(rest: Buffer, base: Omit<Http1Response, "body" | "streaming">, method: string, closed: boolean): ParseResult {
  const header = (name: string): string | undefined => base.headers.find(([key]) => key === name)?.[1];
  const done = (body: Buffer, streaming = false): ParseResult => ({ kind: "done", response: { ...base, body, streaming } });
  if (method === "HEAD" || base.status === 204 || base.status === 304) return done(Buffer.alloc(0));
  const transferEncoding = header("transfer-encoding");
  if (transferEncoding !== undefined && /(^|,)\s*chunked\s*$/i.test(transferEncoding)) {
    if ((header("content-type") ?? "").toLowerCase().startsWith("text/event-stream")) return done(Buffer.alloc(0), true);
    return dechunk(rest, closed, done);
  }
  const length = header("content-length");
  if (length !== undefined) {
    if (!/^\d+$/.test(length)) return { kind: "malformed", reason: `bad content-length ${JSON.stringify(length)}` };
    const size = Number(length);
    if (rest.length >= size) return done(rest.subarray(0, size));
    return closed ? { kind: "malformed", reason: `the body stopped at ${rest.length} of ${size} bytes` } : INCOMPLETE;
  }
  if ((header("content-type") ?? "").toLowerCase().startsWith("text/event-stream")) return done(Buffer.alloc(0), true);
  return closed ? done(rest) : INCOMPLETE;
}

function dechunk(rest: Buffer, closed: boolean, done: (body: Buffer) => ParseResult): ParseResult {
  const chunks: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = rest.indexOf("\r\n", at, "latin1");
    if (lineEnd < 0) return closed ? { kind: "malformed", reason: "the chunked body stopped inside a chunk size" } : INCOMPLETE;
    const sizeText = (rest.subarray(at, lineEnd).toString("latin1").split(";")[0] ?? "").trim();
    if (!/^[0-9a-fA-F]+$/.test(sizeText)) return { kind: "malformed", reason: `bad chunk size ${JSON.stringify(sizeText)}` };
    const size = parseInt(sizeText, 16);
    const dataStart = lineEnd + 2;
    if (size === 0) {
      // The last chunk; trailers (none expected) end with an empty line.
      return rest.indexOf("\r\n", dataStart, "latin1") >= 0 ? done(Buffer.concat(chunks)) : closed ? { kind: "malformed", reason: "no end after the last chunk" } : INCOMPLETE;
    }
    if (rest.length < dataStart + size + 2) return closed ? { kind: "malformed", reason: "the chunked body stopped inside a chunk" } : INCOMPLETE;
    chunks.push(rest.subarray(dataStart, dataStart + size));
    at = dataStart + size + 2;
  }
}

/** A header's first value (names are lower-cased). */
export function headerValue(response: Http1Response, name: string): string | undefined {
  return response.headers.find(([key]) => key === name)?.[1];
}
