import {
  type DescField,
  type DescMessage,
  fromBinary,
  fromJson,
  type JsonObject,
  type JsonValue,
  ScalarType,
  toBinary,
  toJson,
} from "@bufbuild/protobuf";
import { CallError, Code } from "../../service/status";
import { decodePathValue } from "./path-template";
import type { Route } from "./routes";

/**
 * protojson for the gateway, driven by descriptors so any bound method works:
 * the request is assembled from body, path variables and query parameters as
 * grpc-gateway does, and the response is written with every declared field
 * present (grpc-gateway's EmitUnpopulated: unset messages as null).
 */

export interface RequestParts {
  readonly variables: ReadonlyMap<string, string>;
  readonly query: URLSearchParams;
  /** The parsed JSON body, or undefined when the request had none. */
  readonly body: JsonValue | undefined;
}

/** Builds the request message's protobuf bytes; bad input is INVALID_ARGUMENT. */
export function encodeRequest(route: Route, parts: RequestParts): Uint8Array {
  const input = route.method.input;
  const json: JsonObject = {};
  const bound = new Set<string>();
  if (route.body === "*") {
    if (parts.body !== undefined) {
      if (!isObject(parts.body)) throw invalid("the request body must be a JSON object");
      Object.assign(json, parts.body);
    }
  } else if (route.body !== "") {
    if (parts.body !== undefined) setPath(input, json, route.body, parts.body);
    bound.add(route.body);
  }
  for (const [fieldPath, raw] of parts.variables) {
    const value = decodePathValue(raw);
    if (value === undefined) throw invalid(`malformed percent-encoding in path variable ${fieldPath}`);
    setPath(input, json, fieldPath, value);
    bound.add(fieldPath);
  }
  // Query parameters fill the fields that neither the path nor a "*" body bound.
  if (route.body !== "*" && parts.query.size > 0) {
    for (const name of new Set(parts.query.keys())) {
      if (bound.has(name)) continue;
      const field = resolvePath(input, name);
      // Unknown parameters are ignored, as grpc-gateway does (cache busters, tracking).
      if (field === undefined) continue;
      const values = parts.query.getAll(name);
      const converted = field.fieldKind === "list" ? values.map((v) => queryValue(field, v)) : queryValue(field, values[values.length - 1] ?? "");
      setPath(input, json, name, converted);
    }
  }
  try {
    // Unknown JSON fields are dropped, as grpc-gateway's default marshaler does (DiscardUnknown).
    return toBinary(input, fromJson(input, json, { ignoreUnknownFields: true }));
  } catch (error) {
    throw invalid(error instanceof Error ? error.message : "the request does not match its schema");
  }
}

/** Writes response bytes as protojson with every field present. */
export function decodeResponse(route: Route, bytes: Uint8Array): JsonValue {
  const output = route.method.output;
  const json = withUnpopulated(output, toJson(output, fromBinary(output, bytes), { alwaysEmitImplicit: true }) as JsonObject);
  if (route.responseBody === "") return json;
  const field = resolvePath(output, route.responseBody);
  return field === undefined ? null : (json[field.jsonName] ?? null);
}

/**
 * Rewrites `json` in field-number order with every declared field present: unset
 * singular messages (and unset proto3 optionals) as null, recursively, also inside
 * lists and maps; well-known types keep their own JSON form. Unset oneof members
 * stay absent, as in protojson.
 */
function withUnpopulated(desc: DescMessage, json: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const field of desc.fields) {
    const value = json[field.jsonName];
    if (value === undefined) {
      if (field.oneof === undefined) out[field.jsonName] = null;
      continue;
    }
    const message = field.fieldKind === "scalar" || field.fieldKind === "enum" ? undefined : field.message;
    if (message === undefined || message.typeName.startsWith("google.protobuf.")) {
      out[field.jsonName] = value;
    } else if (field.fieldKind === "list" && Array.isArray(value)) {
      out[field.jsonName] = value.map((item) => (isObject(item) ? withUnpopulated(message, item) : item));
    } else if (field.fieldKind === "map" && isObject(value)) {
      out[field.jsonName] = Object.fromEntries(
        Object.entries(value).map(([key, item]) => [key, isObject(item) ? withUnpopulated(message, item) : item]),
      );
    } else {
      out[field.jsonName] = isObject(value) ? withUnpopulated(message, value) : value;
    }
  }
  return out;
}

/** Finds a field by a dotted path of proto names or JSON names. */
function resolvePath(desc: DescMessage, path: string): DescField | undefined {
  let message: DescMessage | undefined = desc;
  let field: DescField | undefined;
  for (const name of path.split(".")) {
    if (message === undefined) return undefined;
    field = message.fields.find((f) => f.name === name || f.jsonName === name);
    if (field === undefined) return undefined;
    message = field.fieldKind === "message" ? field.message : undefined;
  }
  return field;
}

function setPath(desc: DescMessage, json: JsonObject, path: string, value: JsonValue): void {
  const names = path.split(".");
  let message: DescMessage = desc;
  let target = json;
  names.forEach((name, i) => {
    const field = message.fields.find((f) => f.name === name || f.jsonName === name);
    if (field === undefined) throw invalid(`no field "${path}" in ${desc.typeName}`);
    if (i === names.length - 1) {
      target[field.jsonName] = value;
      return;
    }
    if (field.fieldKind !== "message") throw invalid(`"${path}" does not name a nested field`);
    const next = target[field.jsonName];
    const child: JsonObject = isObject(next) ? next : {};
    target[field.jsonName] = child;
    target = child;
    message = field.message;
  });
}

/** Query strings carry text; protojson wants booleans as booleans. Other scalars accept strings. */
function queryValue(field: DescField, text: string): JsonValue {
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
