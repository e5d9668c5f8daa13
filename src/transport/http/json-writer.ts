import { type DescEnum, type DescField, type DescMessage, type Message, ScalarType, toJson } from "@bufbuild/protobuf";
import { type Duration, DurationSchema, FeatureSet_FieldPresence, type Timestamp, TimestampSchema } from "@bufbuild/protobuf/wkt";

/**
 * A message's protojson text, compiled once per schema: what protobuf-es's `toJson`
 * (with `alwaysEmitImplicit`) writes, with grpc-gateway's EmitUnpopulated on top (every
 * declared field present, unset messages and unset proto3 optionals as null; unset oneof
 * members absent), written straight to text in declaration order.
 *
 * Why not `toJson` then `JSON.stringify`: a REST answer then built two object trees (the
 * JSON, then the same with nulls filled in) and formatted each Timestamp through a Date and
 * a regular expression. Under load that was the largest part of a Get's cost after the
 * network (the REST figure in the README). The common values take a direct path here:
 * scalars, enums, Timestamps and Durations of whole milliseconds or seconds, nested
 * messages, lists and maps. Anything else (other well-known types, a Timestamp with
 * sub-millisecond nanos, a value out of range) is handed to protobuf-es, so it stays the
 * authority on protojson: the test compares the two on random messages of every schema.
 */
export type JsonWriter = (message: Message) => string;

type ValueWriter = (value: unknown) => string;

const writers = new WeakMap<DescMessage, JsonWriter>();

/** The compiled writer of a schema (cached: schemas are long-lived descriptors). */
export function jsonWriter(schema: DescMessage): JsonWriter {
  let writer = writers.get(schema);
  if (writer === undefined) {
    // Registered before compiling its fields, so a recursive schema finds itself.
    let compiled: JsonWriter | undefined;
    writer = (message) => (compiled as JsonWriter)(message);
    writers.set(schema, writer);
    compiled = compileMessage(schema);
  }
  return writer;
}

/** Writes one field of a message as `jsonWriter` would (an unset oneof member as null): a response_body, an event's id. */
export function fieldWriter(field: DescField): JsonWriter {
  const read = fieldReader(field);
  const write = valueWriter(field);
  return (message) => {
    const value = read(message);
    return value === ABSENT || value === undefined ? "null" : write(value);
  };
}

/** An unset oneof member: left out of the object, not written as null. */
const ABSENT = Symbol("absent");

/** How a field's value is read off a message: undefined when unset, ABSENT for an unset oneof member. */
function fieldReader(field: DescField): (message: Message) => unknown {
  const name = field.localName;
  const { oneof } = field;
  if (oneof !== undefined) {
    return (message) => {
      const chosen = (message as unknown as Readonly<Record<string, { case: string | undefined; value?: unknown }>>)[oneof.localName];
      return chosen?.case === name ? chosen.value : ABSENT;
    };
  }
  // Explicit presence (proto2, proto3 optional, messages): protobuf-es keeps defaults on the
  // prototype, so only an own property is a set value (as its reflect API's isFieldSet reads it).
  if (field.presence !== FeatureSet_FieldPresence.IMPLICIT) return (message) => (Object.hasOwn(message, name) ? (message as unknown as Readonly<Record<string, unknown>>)[name] : undefined);
  return (message) => (message as unknown as Readonly<Record<string, unknown>>)[name];
}

function compileMessage(schema: DescMessage): JsonWriter {
  const fields = schema.fields.map((field) => ({ read: fieldReader(field), key: `${JSON.stringify(field.jsonName)}:`, write: valueWriter(field) }));
  return (message) => {
    let text = "";
    for (const { read, key, write } of fields) {
      const value = read(message);
      if (value === ABSENT) continue;
      text += `${text === "" ? "" : ","}${key}${value === undefined ? "null" : write(value)}`;
    }
    return `{${text}}`;
  };
}

function valueWriter(field: DescField): ValueWriter {
  switch (field.fieldKind) {
    case "scalar":
      return scalarWriter(field.scalar);
    case "enum":
      return enumWriter(field.enum);
    case "message":
      return messageWriter(field.message);
    case "list": {
      const item = field.listKind === "scalar" ? scalarWriter(field.scalar) : field.listKind === "enum" ? enumWriter(field.enum) : messageWriter(field.message);
      return (value) => `[${(value as readonly unknown[]).map(item).join(",")}]`;
    }
    case "map": {
      const item = field.mapKind === "scalar" ? scalarWriter(field.scalar) : field.mapKind === "enum" ? enumWriter(field.enum) : messageWriter(field.message);
      // Map keys are the message's object keys already (protojson writes every key as a string).
      return (value) => `{${Object.entries(value as Readonly<Record<string, unknown>>).map(([key, entry]) => `${JSON.stringify(key)}:${item(entry)}`).join(",")}}`;
    }
  }
}

function scalarWriter(type: ScalarType): ValueWriter {
  switch (type) {
    case ScalarType.STRING:
      return (value) => JSON.stringify(value);
    case ScalarType.BOOL:
      return (value) => (value === true ? "true" : "false");
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return (value) => String(value);
    case ScalarType.DOUBLE:
    case ScalarType.FLOAT:
      // protojson spells the non-finite values as strings; JSON.stringify writes -0 as 0, as toJson does.
      return (value) => (Number.isFinite(value) ? JSON.stringify(value) : `"${String(value)}"`);
    case ScalarType.BYTES:
      return (value) => {
        const bytes = value as Uint8Array;
        return `"${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64")}"`;
      };
    default:
      // The 64-bit integers: decimal strings (a bigint, or a string with jstype = JS_STRING).
      return (value) => `"${String(value)}"`;
  }
}

function enumWriter(desc: DescEnum): ValueWriter {
  if (desc.typeName === "google.protobuf.NullValue") return () => "null";
  const names = new Map(desc.values.map((value) => [value.number, JSON.stringify(value.name)]));
  // A number the schema does not name is written as the number, as protojson does.
  return (value) => names.get(value as number) ?? String(value);
}

function messageWriter(desc: DescMessage): ValueWriter {
  if (desc.typeName === TimestampSchema.typeName) return (value) => timestampText(value as Timestamp);
  if (desc.typeName === DurationSchema.typeName) return (value) => durationText(value as Duration);
  // The other well-known types with a JSON form of their own (Struct, Any, wrappers, …): protobuf-es writes them.
  if (OWN_JSON_FORM.has(desc.typeName)) return (value) => JSON.stringify(toJson(desc, value as Message));
  const write = jsonWriter(desc);
  return (value) => write(value as Message);
}

/** The well-known types protojson writes in a form of their own, not as an object of their fields. */
const OWN_JSON_FORM: ReadonlySet<string> = new Set(
  ["Any", "FieldMask", "Struct", "Value", "ListValue", "DoubleValue", "FloatValue", "Int64Value", "UInt64Value", "Int32Value", "UInt32Value", "BoolValue", "StringValue", "BytesValue"].map(
    (name) => `google.protobuf.${name}`,
  ),
);

/** The range protojson allows a Timestamp: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z. */
const MIN_TIMESTAMP_SECONDS = -62_135_596_800;
const MAX_TIMESTAMP_SECONDS = 253_402_300_799;

/** RFC 3339 in UTC with 0 or 3 fractional digits; finer or out-of-range values go to protobuf-es. */
function timestampText(timestamp: Timestamp): string {
  const seconds = Number(timestamp.seconds);
  const { nanos } = timestamp;
  if (nanos % 1_000_000 !== 0 || nanos < 0 || seconds < MIN_TIMESTAMP_SECONDS || seconds > MAX_TIMESTAMP_SECONDS) {
    return JSON.stringify(toJson(TimestampSchema, timestamp));
  }
  const prefix = secondText(seconds);
  if (nanos === 0) return `"${prefix}Z"`;
  const ms = nanos / 1_000_000;
  return `"${prefix}.${ms < 10 ? "00" : ms < 100 ? "0" : ""}${ms}Z"`;
}

/**
 * "YYYY-MM-DDTHH:MM:SS" of a second, from a small direct-mapped cache: the instants one
 * answer carries, and the answers of one moment, mostly share their seconds, and
 * `Date.toISOString` was the largest piece of the REST Get path left (5% of its CPU).
 */
function secondText(seconds: number): string {
  const at = seconds & (SECOND_CACHE_SIZE - 1);
  if (cachedSeconds[at] === seconds) return cachedTexts[at] as string;
  const text = new Date(seconds * 1000).toISOString().slice(0, 19);
  cachedSeconds[at] = seconds;
  cachedTexts[at] = text;
  return text;
}

const SECOND_CACHE_SIZE = 64;
const cachedSeconds = new Float64Array(SECOND_CACHE_SIZE).fill(Number.NaN);
const cachedTexts: string[] = new Array<string>(SECOND_CACHE_SIZE).fill("");

/** The largest Duration protojson allows, in seconds (about 10,000 years). */
const MAX_DURATION_SECONDS = 315_576_000_000;

/** Whole seconds as "Ns"; a fraction, or a value out of range, goes to protobuf-es. */
function durationText(duration: Duration): string {
  const seconds = Number(duration.seconds);
  if (duration.nanos !== 0 || Math.abs(seconds) > MAX_DURATION_SECONDS) return JSON.stringify(toJson(DurationSchema, duration));
  return `"${seconds}s"`;
}
