import { headerValue, type Http1Response } from "./http1-response";
import { echoesMarker } from "./markers";
import type { RestOutcome } from "./rest-exchange";
import { CONTRACT_STATUS_OF_CODE } from "../../support/contract-status";

/** What the checker needs to know of the request that got the answer. */
export interface RestRequestFacts {
  readonly method: string;
  /** The request target as sent. */
  readonly target: string;
  /** The client half-closed after writing: a silent close is then a fair answer. */
  readonly halfClose: boolean;
  /** Node's parser is known to hold this request until its request timeout (see RestCase.nodeStalls). */
  readonly nodeStalls?: boolean;
}

/**
 * Statuses the HTTP layer decides before or instead of an RPC (docs/api.md, HTTP-level
 * rules), with the code their JSON body carries.
 */
const HTTP_LEVEL_CODES: Readonly<Record<number, readonly number[]>> = {
  405: [12], // known path, wrong method
  408: [4], // request not received in time
  413: [8], // body too large
  415: [3], // unsupported content-encoding
  417: [3], // an Expect the server cannot meet
  431: [8], // headers too large
};

/**
 * Everything wrong with one answer, as sentences (empty: nothing). The rules, from the
 * contract: always an answer (unless the client gave up first); never a 5xx for what a
 * client sent; every 4xx a JSON `{code, message, details}` whose code matches the status;
 * nothing the caller sent quoted back (the markers), in any body or header but
 * X-Request-Id, which echoes a usable id by design.
 */
export function restProblems(request: RestRequestFacts, outcome: RestOutcome): string[] {
  switch (outcome.kind) {
    case "closed-silently":
      return request.halfClose ? [] : ["the server closed the connection without an answer"];
    case "no-answer":
      if (request.nodeStalls === true && outcome.received.length === 0) return [];
      return [`no complete answer in time (received ${outcome.received.length} bytes: ${preview(outcome.received)})`];
    case "malformed":
      return [`a malformed answer: ${outcome.reason} (${preview(outcome.received)})`];
    case "answered":
      return answerProblems(request, outcome.response);
  }
}

function answerProblems(request: RestRequestFacts, response: Http1Response): string[] {
  const problems: string[] = [];
  const { status } = response;
  const bodyText = response.body.toString("utf8");
  const mediaType = (headerValue(response, "content-type") ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
  if (status >= 500) problems.push(`status ${status}: a server error for what a client sent`);
  if (status < 200 || status > 599) problems.push(`status ${status} is not a final HTTP status`);
  if (status >= 400) {
    if (mediaType !== "application/json") problems.push(`error ${status} with content-type ${JSON.stringify(headerValue(response, "content-type") ?? "(none)")}, not application/json`);
    if (request.method === "HEAD") {
      if (response.body.length > 0) problems.push("an answer to HEAD with a body");
    } else if (!(isAcquire(request) && status === 404 && bodyText === "{}")) {
      problems.push(...errorBodyProblems(status, bodyText));
    }
    if (status === 401 && headerValue(response, "www-authenticate") === undefined) problems.push("401 without WWW-Authenticate");
    if (status === 405 && headerValue(response, "allow") === undefined) problems.push("405 without Allow");
  } else if (mediaType === "application/json" && request.method !== "HEAD" && !response.streaming) {
    try {
      JSON.parse(bodyText);
    } catch {
      problems.push(`status ${status} with a content-type of JSON and a body that is not JSON`);
    }
  }
  if (echoesMarker(bodyText)) problems.push("the body quotes what the caller sent (a marker)");
  for (const [name, value] of response.headers) {
    if (name !== "x-request-id" && echoesMarker(value)) problems.push(`header ${name} quotes what the caller sent (a marker)`);
  }
  return problems;
}

/** The documented exception: Acquire (GET /keys) with no key answers 404 with the body {}. */
function isAcquire(request: RestRequestFacts): boolean {
  return request.method === "GET" && request.target.split("?")[0] === "/keys";
}

function errorBodyProblems(status: number, text: string): string[] {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return [`error ${status} whose body is not JSON: ${JSON.stringify(text.slice(0, 120))}`];
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) return [`error ${status} whose body is not a JSON object`];
  const record = body as Record<string, unknown>;
  const problems: string[] = [];
  const keys = Object.keys(record).sort().join(",");
  if (keys !== "code,details,message") problems.push(`error ${status} whose body has the fields ${keys || "(none)"}, not code, message, details`);
  const { code, message, details } = record;
  if (typeof code !== "number" || !Number.isInteger(code)) problems.push(`error ${status} whose code is not a whole number`);
  else if (CONTRACT_STATUS_OF_CODE[code] !== status && !(HTTP_LEVEL_CODES[status] ?? []).includes(code)) problems.push(`error ${status} with gRPC code ${code}, which maps to ${CONTRACT_STATUS_OF_CODE[code] ?? "nothing"}`);
  if (typeof message !== "string" || message === "") problems.push(`error ${status} without a message`);
  if (!Array.isArray(details)) problems.push(`error ${status} whose details are not a list`);
  return problems;
}

/** The first bytes of something received, escaped. */
export function preview(bytes: Buffer, max = 300): string {
  const text = JSON.stringify(bytes.subarray(0, max).toString("latin1"));
  return bytes.length > max ? `${text}… (${bytes.length} bytes)` : text;
}
