import {
  create,
  type DescField,
  type DescMessage,
  fromJson,
  type JsonObject,
  type JsonValue,
  type Message,
  ScalarType,
} from "@bufbuild/protobuf";
import { CallError, Code } from "../../service/status";
import { goDurationToProtoJson } from "../../shared/go-duration";
import { fieldWriter, jsonWriter } from "./json-writer";
import { decodePathValue } from "./path-template";
import type { Route } from "./routes";

/**
 * protojson for the gateway, straight between JSON and the server's protobuf-es
 * messages (no binary hop), driven by descriptors so any bound method works. The
 * request is assembled from body, path variables and query parameters as
 * grpc-gateway does; the response is written with every declared field present
 * (grpc-gateway's EmitUnpopulated: unset messages as null) by json-writer.ts.
 *
 * Error messages name fields of the schema, never a value the caller sent.
 */

export interface RequestParts {
  readonly variables: ReadonlyMap<string, string>;
  /** The raw query string, without "?"; "" when there is none. */
  readonly query: string;
  /** The parsed JSON body, or undefined when the request had none. */
  readonly body: JsonValue | undefined;
}

/** Builds a route's request message from its parts; bad input is INVALID_ARGUMENT. */
export type RequestDecoder = (parts: RequestParts) => Message;

/**
 * Compiles a route's request decoding once: the fields its body and path variables
 * bind are resolved here, so a request only fills values in and decodes.
 */
export function requestDecoder(route: Route, schema: DescMessage): RequestDecoder {
  const bodyChain = route.body === "" || route.body === "*" ? undefined : fieldChain(schema, route.body);
  const variables = route.template.fields.map((path) => ({ path, chain: fieldChain(schema, path) }));
  const bound = [...(bodyChain === undefined ? [] : [bodyChain]), ...variables.map((variable) => variable.chain)];
  const takesQuery = route.body !== "*";
  // The common request (GET /keys/{key_id}: path variables naming top-level string fields, no
  // body, no query) is made directly: any text is a valid string, so protojson has nothing to check.
  const direct = variables.every(({ chain }) => chain.length === 1 && chain[0]?.fieldKind === "scalar" && chain[0].scalar === ScalarType.STRING)
    ? variables.map(({ path, chain }) => ({ path, name: (chain[0] as DescField).localName }))
    : undefined;
  return (parts) => {
    if (direct !== undefined && parts.body === undefined && parts.query === "") {
      const init: Record<string, string> = {};
      for (const { path, name } of direct) init[name] = pathValue(parts, path);
      return create(schema, init);
    }
    const json: JsonObject = {};
    if (route.body === "*") {
      if (parts.body !== undefined) {
        if (!isObject(parts.body)) throw invalid("the request body must be a JSON object");
        Object.assign(json, parts.body);
      }
    } else if (bodyChain !== undefined && parts.body !== undefined) {
      setChain(json, bodyChain, parts.body);
    }
    // Path variables last: a field the path binds is never set by the body, under any of its names.
    for (const { path, chain } of variables) setChain(json, chain, pathValue(parts, path));
    // Query parameters fill only fields that neither the path nor the body bound.
    if (takesQuery && parts.query !== "") fillFromQuery(json, schema, parts.query, bound);
    try {
      // Unknown JSON fields are dropped, as grpc-gateway's default marshaler does (DiscardUnknown).
      return fromJson(schema, json, { ignoreUnknownFields: true });
    } catch (error) {
      const field = fieldOf(error);
      throw invalid(field === undefined ? `the request does not match ${schema.typeName}` : `invalid value for ${field}`);
    }
  };
}

/** A path variable's value, percent-decoded; malformed escapes are the caller's mistake. */
function pathValue(parts: RequestParts, path: string): string {
  const value = decodePathValue(parts.variables.get(path) ?? "");
  if (value === undefined) throw invalid(`malformed percent-encoding in path variable ${path}`);
  return value;
}

function fillFromQuery(json: JsonObject, schema: DescMessage, queryString: string, bound: readonly DescField[][]): void {
  const query = new URLSearchParams(queryString);
  for (const name of new Set(query.keys())) {
    const chain = resolveChain(schema, name);
    // Unknown parameters are ignored, as grpc-gateway does (cache busters, tracking).
    if (chain === undefined || bound.some((taken) => overlaps(taken, chain))) continue;
    const field = chain[chain.length - 1] as DescField;
    const values = query.getAll(name);
    setChain(json, chain, field.fieldKind === "list" ? values.map((v) => queryValue(field, v)) : queryValue(field, values[values.length - 1] ?? ""));
  }
}

/**
 * The schema field a protobuf-es decoding error is about ("field tokens.v1.X.y"), from
 * the FieldError it carries as its cause: its own message would quote the caller's value.
 */
function fieldOf(error: unknown): string | undefined {
  const cause = error instanceof Error ? error.cause : undefined;
  if (typeof cause !== "object" || cause === null || !("field" in cause) || typeof cause.field !== "function") return undefined;
  const field: unknown = cause.field();
  return typeof field === "string" ? field : undefined;
}

/** Writes a route's response message as its HTTP body: JSON text. */
export type ResponseEncoder = (message: Message) => string;

/**
 * Compiles a route's response encoding once: protojson with every field present
 * (json-writer.ts), or only the field response_body names.
 */
export function responseEncoder(route: Route, schema: DescMessage): ResponseEncoder {
  if (route.responseBody === "") return jsonWriter(schema);
  // A top-level field, as grpc-gateway requires of response_body.
  const field = schema.fields.find((candidate) => candidate.name === route.responseBody || candidate.jsonName === route.responseBody);
  return field === undefined ? () => "null" : fieldWriter(field);
}

/** The fields a dotted path of proto or JSON names walks through, or undefined. */
function resolveChain(desc: DescMessage, path: string): DescField[] | undefined {
  const chain: DescField[] = [];
  let message: DescMessage | undefined = desc;
  for (const name of path.split(".")) {
    const field: DescField | undefined = message?.fields.find((f) => f.name === name || f.jsonName === name);
    if (field === undefined) return undefined;
    chain.push(field);
    message = field.fieldKind === "message" ? field.message : undefined;
  }
  return chain;
}

/** As resolveChain, for paths the proto itself names (http rules): a miss is a schema error. */
function fieldChain(desc: DescMessage, path: string): DescField[] {
  const chain = resolveChain(desc, path);
  if (chain === undefined) throw invalid(`no field ${path} in ${desc.typeName}`);
  for (const field of chain.slice(0, -1)) if (field.fieldKind !== "message") throw invalid(`${path} does not name a nested field`);
  return chain;
}

/** Whether one field path is the other or contains it (setting either would touch the other). */
function overlaps(a: readonly DescField[], b: readonly DescField[]): boolean {
  const shorter = Math.min(a.length, b.length);
  for (let i = 0; i < shorter; i += 1) if (a[i] !== b[i]) return false;
  return true;
}

/** Sets the value at the chain's end (by JSON name), removing the proto-name spelling so one value wins. */
function setChain(json: JsonObject, chain: readonly DescField[], value: JsonValue): void {
  let target = json;
  for (const [i, field] of chain.entries()) {
    if (field.name !== field.jsonName) delete target[field.name];
    if (i === chain.length - 1) {
      target[field.jsonName] = value;
      return;
    }
    const next = target[field.jsonName];
    const child: JsonObject = isObject(next) ? { ...next } : {};
    target[field.jsonName] = child;
    target = child;
  }
}

/**
 * Query strings carry text, read as grpc-gateway reads them: booleans by Go's ParseBool,
 * durations by Go's ParseDuration ("1m30s"), enums by name or number. Other scalars
 * (numbers, 64-bit integers) accept strings in protojson as they are.
 */
function queryValue(field: DescField, text: string): JsonValue {
  if (field.fieldKind === "message" && field.message.typeName === "google.protobuf.Duration") {
    const duration = goDurationToProtoJson(text);
    if (duration === undefined) throw invalid(`${field.name} must be a duration such as 30s, 1500ms or 1m30s`);
    return duration;
  }
  if (field.fieldKind === "enum" || (field.fieldKind === "list" && field.listKind === "enum")) {
    // As grpc-gateway's runtime.Enum: a value's name, or the number of one; anything else is a bad
    // value (the JSON decoder would drop an unknown name silently: a typo would list everything).
    const value = /^-?\d+$/.test(text) ? field.enum.values.find((v) => v.number === Number(text)) : field.enum.values.find((v) => v.name === text);
    if (value === undefined) throw invalid(`${field.name} must be one of ${field.enum.values.map((v) => v.name).join(", ")}`);
    return value.name;
  }
  if (field.fieldKind !== "list" && field.fieldKind !== "scalar") return text;
  if (field.scalar === ScalarType.BOOL) {
    const parsed = PARSE_BOOL[text];
    if (parsed === undefined) throw invalid(`${field.name} must be true or false`);
    return parsed;
  }
  return text;
}

/** The spellings Go's strconv.ParseBool accepts, as grpc-gateway's query parser does. */
const PARSE_BOOL: Readonly<Record<string, boolean>> = Object.fromEntries([
  ...["1", "t", "T", "TRUE", "true", "True"].map((text) => [text, true] as const),
  ...["0", "f", "F", "FALSE", "false", "False"].map((text) => [text, false] as const),
]);

function isObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function invalid(message: string): CallError {
  return new CallError(Code.INVALID_ARGUMENT, message);
}
