import { marker } from "./markers";
import type { Random } from "./random";
import { FUZZ_TOKENS, fuzzAuthorization } from "./tokens";

/**
 * Hostile HTTP/1.1 requests for the REST edge, as bytes: methods (real, junk, malformed),
 * request targets (the real routes with good and bad key ids, percent escapes valid and
 * not, overlong, dot segments, unicode, absolute form), query strings (every parameter
 * the routes read, good values and bad), headers (content types, lengths that lie,
 * huge, duplicated, bad tokens, junk request ids) and bodies (JSON of the right and the
 * wrong shapes, deep, huge numbers, not JSON at all, binary, oversized), framed by
 * Content-Length, chunked, both, or wrongly. Markers are planted wherever the caller's
 * text could be quoted back.
 */
export interface RestCase {
  readonly index: number;
  /** The method as sent ("" or junk included); "RAW" when the whole request is junk bytes. */
  readonly method: string;
  readonly target: string;
  readonly version: string;
  readonly headers: readonly (readonly [string, string])[];
  readonly body: Buffer;
  readonly framing: Framing;
  /** The client half-closes after writing (it gives up): the server may close without answering. */
  readonly halfClose: boolean;
  /** Everything written on the socket. */
  readonly bytes: Buffer;
  /** The bytes are junk written as they are (method, target and headers say what a server may make of them). */
  readonly raw: boolean;
  /**
   * Node's HTTP parser holds this request without a word: on a request that asks for an
   * upgrade (Connection: Upgrade and Upgrade), an error in the chunked body (a bad chunk
   * size, a chunk extension over 16 KiB) is never reported (no 400 or 413) and the request
   * waits for the 30 s request timeout, then gets a JSON 408. A Node limitation (README).
   */
  readonly nodeStalls: boolean;
}

export type Framing =
  | "content-length"
  | "chunked"
  | "none"
  | "content-length-too-long"
  | "content-length-too-short"
  | "chunked-bad-size"
  | "chunked-unterminated"
  | "content-length-and-chunked";

export interface RestContext {
  /** Ids of keys that exist when the run starts (some get deleted on the way). */
  readonly knownKeys: readonly string[];
  /** The REST port, for Host headers and absolute-form targets. */
  readonly port: number;
}

const URL_SAFE = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const PRINTABLE = `${URL_SAFE} !"#$%&'()*+,./:;<=>?@[\\]^\`{|}~`;
const ROUTES = ["/keys", "/keys/{id}", "/keepalive/{id}", "/stats", "/keys:list", "/events", "/healthz", "/openapi.json", "/metrics"] as const;

export function restCase(random: Random, index: number, context: RestContext): RestCase {
  const plant = markerSource(index);
  if (random.chance(0.04)) return rawJunk(random, index, plant);
  const method = methodOf(random);
  const target = targetOf(random, context, plant);
  const version = random.weighted<string>([
    [92, "HTTP/1.1"],
    [3, "HTTP/1.0"],
    [2, "HTTP/2.0"],
    [1, "HTTP/1.9"],
    [1, "HTTX/1.1"],
    [1, ""],
  ]);
  const path = target.split("?")[0] ?? "";
  const body = wantsBody(random, method) ? bodyOf(random, plant) : Buffer.alloc(0);
  const headers = headersOf(random, context, plant, path, body.length > 0);
  const framing: Framing =
    body.length === 0
      ? random.weighted<Framing>([
          [90, "none"],
          [5, "content-length"],
          [3, "chunked"],
          [2, "content-length-too-long"],
        ])
      : random.weighted<Framing>([
          [74, "content-length"],
          [10, "chunked"],
          [3, "none"],
          [4, "content-length-too-long"],
          [3, "content-length-too-short"],
          [2, "chunked-bad-size"],
          [2, "chunked-unterminated"],
          [2, "content-length-and-chunked"],
        ]);
  const [framingHeaders, wire, incomplete] = frameBody(random, body, framing);
  // A client that stops mid-request must half-close, or the server would wait for the rest.
  const halfClose = incomplete || random.chance(0.05);
  const all = [...headers, ...framingHeaders];
  const asksUpgrade = all.some(([name]) => name.toLowerCase() === "upgrade") && all.some(([name, value]) => name.toLowerCase() === "connection" && /upgrade/i.test(value));
  const brokenChunks = framing === "chunked-bad-size" || wire.includes(`;e=${"e".repeat(16 * 1024)}`);
  const nodeStalls = asksUpgrade && brokenChunks;
  const head = `${method} ${target}${version === "" ? "" : ` ${version}`}\r\n${all.map(([name, value]) => `${name}: ${value}\r\n`).join("")}\r\n`;
  // UTF-8: unicode in a target or a header goes out as its UTF-8 bytes, as a careless client sends it.
  return { index, method, target, version, headers: all, body, framing, halfClose, bytes: Buffer.concat([Buffer.from(head, "utf8"), wire]), raw: false, nodeStalls };
}

/** Markers for one case: ZQXJ.<case>.<n>. */
function markerSource(index: number): () => string {
  let n = 0;
  return () => marker(index * 100 + (n++ % 100));
}

/**
 * Bytes that are not a request, or barely: the method stays "RAW" (no route applies), except
 * for a request after blank lines, which a server skips (RFC 9112 §2.2): that one is a GET /keys.
 */
function rawJunk(random: Random, index: number, plant: () => string): RestCase {
  const [method, target, junk] = random.weighted<() => [string, string, Buffer]>([
    [3, () => ["RAW", "", random.bytes(random.int(1, 200))]],
    [1, () => ["RAW", "", Buffer.from(`${plant()} ${plant()}`, "latin1")]],
    [1, () => ["GET", "/keys", Buffer.from(`\r\n\r\nGET /keys HTTP/1.1\r\nHost: x`, "latin1")]],
    [1, () => ["RAW", "", Buffer.from(`GET /keys HTTP/1.1\r\nHost: x\r\n ${plant()}`, "latin1")]],
    [1, () => ["RAW", "", Buffer.from(`GET /keys/${plant()} HTTP/1.1\r\nHost: x\r\nX: a\rb`, "latin1")]],
    [1, () => ["RAW", "", Buffer.from(`PRI * HTTP/2.0\r\n\r\nSM`, "latin1")]],
  ])();
  // Always a blank line at the end: the server sees a whole (if broken) head and answers now.
  const bytes = Buffer.concat([junk, Buffer.from("\r\n\r\n")]);
  return { index, method, target, version: "", headers: [], body: Buffer.alloc(0), framing: "none", halfClose: false, bytes, raw: true, nodeStalls: false };
}

function methodOf(random: Random): string {
  return random.weighted<() => string>([
    [30, () => "GET"],
    [14, () => "POST"],
    [14, () => "PUT"],
    [9, () => "DELETE"],
    [4, () => "PATCH"],
    [6, () => "HEAD"],
    [4, () => "OPTIONS"],
    [1, () => "TRACE"],
    [1, () => "CONNECT"],
    [2, () => random.pick(["get", "Post", "PROPFIND", "BREW", "M-SEARCH", "PURGE", "SEARCH", "QUERY"])],
    [2, () => random.text(random.int(1, 24), "ABCDEFGHIJKLMNOPQRSTUVWXYZ")],
    [1, () => random.pick(["G@T", "GE T", "", "GET\t", "ΓET", "G\u0000T"])],
    [1, () => "X".repeat(random.pick([64, 300, 5000]))],
  ])();
}

function targetOf(random: Random, context: RestContext, plant: () => string): string {
  const route = random.weighted<string>([
    [10, random.pick(ROUTES)],
    [1, "/"],
    [1, `/${plant()}`],
    [1, `/${random.text(random.int(1, 12), URL_SAFE)}/${random.text(random.int(1, 12), URL_SAFE)}`],
    [0.5, "*"],
    [0.5, `http://127.0.0.1:${context.port}/keys`],
  ]);
  let path = route.replace("{id}", () => keyIdSegment(random, context, plant));
  path = random.weighted<(p: string) => string>([
    [20, (p) => p],
    [1, (p) => `${p}/`],
    [1, (p) => `${p}/${plant()}`],
    [1, (p) => p.replace("/", "//")],
    [1, (p) => `/.${p}`],
    [1, (p) => `/x/..${p}`],
    [1, (p) => `/%2e%2e${p}`],
    [1, (p) => p.toUpperCase()],
    [1, (p) => `${p}#${plant()}`],
    [1, (p) => `${p}:${random.pick(["list", "cancel", "", plant()])}`],
    [0.5, (p) => p.replace("/", "/ ")],
    [0.5, (p) => `${p}\u00ff${plant()}`],
    [0.5, (p) => `${p}\t`],
  ])(path);
  return random.chance(0.45) ? `${path}?${queryOf(random, context, plant)}` : path;
}

function keyIdSegment(random: Random, context: RestContext, plant: () => string): string {
  return random.weighted<() => string>([
    [5, () => random.pick(context.knownKeys)],
    [4, () => plant()],
    [2, () => random.text(random.int(1, 40), URL_SAFE)],
    [1, () => percentEncodeAll(plant())],
    [2, () => `${random.pick(["%zz", "%", "%4", "%E0%A4%A", "%C3%28", "%FF", "%00", "%2F", "%2e%2e", "a%20b", "%25", "%u0041"])}${plant()}`],
    [1, () => `${plant()}${"x".repeat(random.pick([107, 108, 120, 200, 1000, 5000, 20_000]))}`],
    [1, () => random.pick(["..", ".", "%2E", "~", "keys:list", ":list", "*", "%2A", ":"])],
    [1, () => `${random.pick(["ключ", "🔑", "é", "\u200b"])}${plant()}`],
    [1, () => encodeURIComponent(`${random.pick(["ключ", "🔑", "é", "\u{10ffff}"])}${plant()}`)],
    [1, () => encodeURIComponent(random.pick(["🔑", "é"])).repeat(random.pick([64, 65, 127, 129]))],
    [0.5, () => ""],
  ])();
}

function percentEncodeAll(text: string): string {
  return [...Buffer.from(text, "utf8")].map((byte) => `%${byte.toString(16).padStart(2, "0").toUpperCase()}`).join("");
}

const DURATION_GOOD = ["1s", "500ms", "1m30s", "0", "1.5s", "2h", "1ns", "0.001s"];
const DURATION_BAD = ["-1s", "abc", "1x", "9999999999999999999h", "1e3s", "", "1", "s", "1s1", " 1s", "+1s", "1..5s", "NaN", "Infinity"];
const UINT64 = ["0", "1", "2", "18446744073709551615", "18446744073709551616", "-1", "abc", "1.5", "0x10", "1e3", "9007199254740993"];
const UINT32 = ["1", "10", "100", "1000", "1001", "0", "-1", "4294967295", "4294967296", "abc", "1e3", "1.5"];
const STATES = ["AVAILABLE", "LEASED", "COOLING", "KEY_STATE_UNSPECIFIED", "0", "1", "2", "3", "7", "-1", "available", "bogus", ""];

function queryOf(random: Random, context: RestContext, plant: () => string): string {
  const values: Readonly<Record<string, () => string>> = {
    blockTtl: () => random.chance(0.6) ? random.pick(DURATION_GOOD) : random.pick(DURATION_BAD),
    block_ttl: () => random.pick(DURATION_GOOD),
    wait: () => random.chance(0.6) ? random.pick(["10ms", "50ms", "0", "1s", "5s"]) : random.pick(DURATION_BAD),
    cooldown: () => random.chance(0.6) ? random.pick(DURATION_GOOD) : random.pick(DURATION_BAD),
    lease: () => random.pick(UINT64),
    ttl: () => random.pick([...DURATION_GOOD, ...DURATION_BAD]),
    pageSize: () => random.pick(UINT32),
    page_size: () => random.pick(UINT32),
    pageToken: () => random.pick(["", "bTA", "bTE", "bTk5OTk5OTk5OTk5OTk5OQ", "bTEwMDAwMDAwMDAwMDAwMDAw", plant(), Buffer.from(`m${plant()}`).toString("base64url"), "!!!", "%zz"]),
    state: () => random.pick([...STATES, plant()]),
    keyId: () => random.chance(0.5) ? random.pick(context.knownKeys) : plant(),
    key_id: () => random.chance(0.5) ? random.pick(context.knownKeys) : plant(),
    startRevision: () => random.pick(["0", "1", "5", "99999999999999999999", "18446744073709551615", "-1", "abc", plant()]),
    [plant()]: () => plant(),
  };
  const names = Object.keys(values);
  const parts: string[] = [];
  for (let i = random.int(1, 4); i > 0; i -= 1) {
    const name = random.pick(names);
    const value = (values[name] as () => string)();
    parts.push(
      random.weighted<string>([
        [8, `${name}=${encodeURIComponent(value)}`],
        [1, `${name}=${value}`],
        [1, name],
        [1, `${name}=${random.pick(["%zz", "%", "%FF", "%00", "a+b", "%2B"])}`],
      ]),
    );
  }
  return random.weighted<string>([
    [10, parts.join("&")],
    [1, `&&${parts.join("&&")}&`],
    [1, `${parts.join("&")}&${"p=x&".repeat(random.pick([100, 1000]))}`],
    [1, "="],
  ]);
}

function wantsBody(random: Random, method: string): boolean {
  return ["POST", "PUT", "PATCH", "DELETE"].includes(method) ? random.chance(0.7) : random.chance(0.08);
}

function headersOf(random: Random, context: RestContext, plant: () => string, path: string, hasBody: boolean): [string, string][] {
  const headers: [string, string][] = [];
  const host = `127.0.0.1:${context.port}`;
  headers.push(
    ...random.weighted<[string, string][]>([
      [92, [["Host", host]]],
      [4, []],
      [2, [["Host", host], ["Host", plant()]]],
      [2, [["Host", plant()]]],
    ]),
  );
  const authorization = fuzzAuthorization(random, plant);
  if (authorization !== undefined) headers.push(["Authorization", authorization]);
  if (random.chance(0.03)) headers.push(["Authorization", `Bearer ${FUZZ_TOKENS.admin}`]); // a second one
  if (hasBody || random.chance(0.05)) {
    const type = random.weighted<string | undefined>([
      [10, "application/json"],
      [2, "application/json; charset=utf-8"],
      [1, "APPLICATION/JSON"],
      [1, "application/problem+json"],
      [1, "text/plain"],
      [1, "application/x-www-form-urlencoded"],
      [1, "multipart/form-data; boundary=x"],
      [1, ""],
      [1, plant()],
      [1, "application/json, text/plain"],
      [1, "application/jsonx"],
      [2, undefined],
    ]);
    if (type !== undefined) headers.push(["Content-Type", type]);
  }
  if (random.chance(0.25)) {
    headers.push([
      "X-Request-Id",
      random.pick([random.text(random.int(1, 40), URL_SAFE), plant(), `a b ${plant()}`, "x".repeat(129), "", `${plant()}"<>`, random.text(20, PRINTABLE)]),
    ]);
    if (random.chance(0.1)) headers.push(["X-Request-Id", plant()]);
  }
  if (random.chance(0.05)) headers.push(["Content-Encoding", random.pick(["gzip", "identity", "br", "IDENTITY", plant()])]);
  if (random.chance(0.04)) headers.push(["Expect", random.pick(["100-continue", "100-Continue", plant(), ""])]);
  if (path.startsWith("/events") && random.chance(0.3)) headers.push(["Last-Event-ID", random.pick(["0", "5", "abc", "-1", "99999999999999999999", "18446744073709551615", plant()])]);
  if (random.chance(0.05)) {
    headers.push(...random.pick<[string, string][]>([[["Connection", "close"]], [["Connection", "keep-alive"]], [["Connection", "Upgrade"], ["Upgrade", "websocket"]], [["Connection", "Upgrade, HTTP2-Settings"], ["Upgrade", "h2c"]]]));
  }
  if (random.chance(0.1)) headers.push(["Accept", random.pick(["application/json", "text/html", "*/*", "text/event-stream", plant()])]);
  if (random.chance(0.05)) headers.push([`X-${plant()}`, plant()]);
  if (random.chance(0.02)) headers.push(["X-Huge", "h".repeat(random.pick([8000, 17_000, 40_000]))]);
  if (random.chance(0.02)) for (let i = 0; i < random.pick([50, 200]); i += 1) headers.push([`X-Many-${i}`, plant()]);
  if (random.chance(0.03)) {
    // Lines no parser should accept: no colon, a space in the name, a control byte, an obs-fold.
    headers.push(random.pick<[string, string]>([["Bad Header", plant()], ["X-Nul", `a\u0000${plant()}`], ["X-Fold", `a\r\n ${plant()}`], ["X-Cr", `a\rb${plant()}`], ["", plant()]]));
  }
  return headers;
}

function bodyOf(random: Random, plant: () => string): Buffer {
  return random.weighted<() => Buffer>([
    [6, () => Buffer.from(jsonBody(random, plant))],
    [3, () => Buffer.from(nonJsonBody(random, plant), "latin1")],
    [1, () => random.bytes(random.int(1, 300))],
    [1, () => oversized(random)],
  ])();
}

function jsonBody(random: Random, plant: () => string): string {
  const depth = random.pick([10, 100, 1000, 10_000, 30_000]);
  return random.weighted<() => string>([
    [3, () => "{}"],
    [4, () => JSON.stringify({ ttl: random.pick(["600s", "1.5s", "1s", "0s", "-1s", "0.000000001s", "315576000000s", "315576000001s", "1e3s", "abc", plant(), "", "1.0000000001s", " 1s", "1m"]) })],
    [2, () => `{"ttl": ${random.pick(["5", "null", "true", "[]", "{}", '{"seconds": 1}', "1e309", "-0", "123456789012345678901234567890", '"1s"'])}}`],
    [2, () => JSON.stringify({ keyId: plant(), key_id: plant(), lease: random.pick(UINT64), cooldown: "1s", [plant()]: plant() })],
    [2, () => `{"__proto__": ${random.pick(["null", "{}", `{"ttl": "${plant()}"}`, '{"ttl": "1s"}', "[]", "1", `"${plant()}"`])}}`],
    [1, () => `{"constructor": {"prototype": {"ttl": "${plant()}"}}, "toString": 1, "hasOwnProperty": "${plant()}", "valueOf": null}`],
    [1, () => `{"ttl": ${"[".repeat(depth)}${"]".repeat(depth)}}`],
    [1, () => `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`],
    [1, () => `{"ttl": "1s", "ttl": "${plant()}"}`],
    [1, () => `{"ttl": "1s"}${random.pick(["{}", " x", "\u0000", ",", `"${plant()}"`])}`],
    [1, () => `{"ttl": "\\ud800${plant()}"}`],
    [1, () => `{"${plant()}": ${"9".repeat(random.pick([20, 400, 5000]))}}`],
    [1, () => `{"ttl": ${random.pick(["0.1", "-1e-7", "1e-400", "9007199254740993"])}}`],
  ])();
}

function nonJsonBody(random: Random, plant: () => string): string {
  return random.pick([
    plant(),
    "{",
    `{'ttl': '${plant()}'}`,
    "null",
    "[]",
    `["${plant()}"]`,
    "123",
    `"${plant()}"`,
    "true",
    "\xff\xfe{\x00}\x00",
    "\xef\xbb\xbf{}",
    "\u0000",
    `ttl=1s&key=${plant()}`,
    `<xml>${plant()}</xml>`,
    "{}".repeat(100),
  ]);
}

/** Bodies at and past the 64 KiB limit (65536 bytes: the last accepted size). */
function oversized(random: Random): Buffer {
  const size = random.pick([65_535, 65_536, 65_537, 70_000, 200_000]);
  const text = `{"ttl":"1s","pad":"${"p".repeat(Math.max(0, size - 21))}"}`;
  return Buffer.from(text.slice(0, size - 2) + text.slice(-2));
}

/** The framing headers, the body as written, and whether the request stays incomplete. */
function frameBody(random: Random, body: Buffer, framing: Framing): [[string, string][], Buffer, boolean] {
  const length = (n: number): [string, string] => ["Content-Length", String(n)];
  switch (framing) {
    case "none":
      return [[], body, false];
    case "content-length":
      return [[length(body.length)], body, false];
    case "content-length-too-long":
      return [[length(body.length + random.pick([1, 10, 1000]))], body, true];
    case "content-length-too-short":
      return [[length(Math.max(0, body.length - random.int(1, body.length)))], body, false];
    case "chunked":
      return [[["Transfer-Encoding", "chunked"]], chunked(random, body, true), false];
    case "chunked-unterminated":
      return [[["Transfer-Encoding", "chunked"]], chunked(random, body, false), true];
    case "chunked-bad-size":
      return [[["Transfer-Encoding", "chunked"]], Buffer.concat([Buffer.from(`${random.pick(["zz", "-1", "", "ffffffffffffffffff", "1 1"])}\r\n`), body, Buffer.from("\r\n0\r\n\r\n")]), false];
    case "content-length-and-chunked":
      return [[length(body.length), ["Transfer-Encoding", "chunked"]], chunked(random, body, true), false];
  }
}

function chunked(random: Random, body: Buffer, terminated: boolean): Buffer {
  const parts: Buffer[] = [];
  for (let at = 0; at < body.length; ) {
    const size = Math.min(body.length - at, random.int(1, Math.max(1, Math.ceil(body.length / 3))));
    const extension = random.chance(0.05) ? `;${random.pick(["a=b", "x", `e=${"e".repeat(random.pick([10, 20_000]))}`])}` : "";
    parts.push(Buffer.from(`${size.toString(16)}${extension}\r\n`), body.subarray(at, at + size), Buffer.from("\r\n"));
    at += size;
  }
  if (terminated) parts.push(Buffer.from("0\r\n\r\n"));
  return Buffer.concat(parts);
}
