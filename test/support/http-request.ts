import http from "node:http";

export interface HttpRequestOptions {
  readonly method?: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** Sent as is; a string is sent as UTF-8. With `chunked`, sent without Content-Length. */
  readonly body?: string | Buffer;
  readonly chunked?: boolean;
  readonly agent?: http.Agent;
}

export interface HttpResponse {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly text: string;
  /** The media type of Content-Type, lower-cased and without parameters ("" when absent). */
  readonly mediaType: string;
  /** The body parsed as JSON (throws when it is not JSON). */
  json(): unknown;
}

/**
 * One HTTP/1.1 request with node:http, so the test controls the method, the
 * headers and the body bytes exactly (fetch normalises and forbids some of them).
 * `address` is "host:port"; `path` is sent verbatim, percent-encoding included.
 */
export function httpRequest(address: string, path: string, options: HttpRequestOptions = {}): Promise<HttpResponse> {
  const colon = address.lastIndexOf(":");
  const host = address.slice(0, colon).replace(/^\[|\]$/g, "");
  const port = Number(address.slice(colon + 1));
  const body = typeof options.body === "string" ? Buffer.from(options.body, "utf8") : options.body;
  const headers: Record<string, string | number> = { ...options.headers };
  if (body !== undefined && options.chunked !== true) headers["content-length"] = body.length;
  if (options.chunked === true) headers["transfer-encoding"] = "chunked";
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host, port, path, method: options.method ?? "GET", headers, agent: options.agent ?? false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("error", reject);
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          const contentType = res.headers["content-type"] ?? "";
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text,
            mediaType: (contentType.split(";")[0] ?? "").trim().toLowerCase(),
            json: () => JSON.parse(text) as unknown,
          });
        });
      },
    );
    req.on("error", reject);
    if (body !== undefined && options.chunked === true) {
      // Several chunks, so the server cannot learn the size up front.
      const step = 16 * 1024;
      for (let at = 0; at < body.length; at += step) req.write(body.subarray(at, at + step));
      req.end();
    } else {
      req.end(body);
    }
  });
}
