import { expect } from "chai";
import fc from "fast-check";
import {
  create,
  createFileRegistry,
  type DescField,
  type DescMessage,
  type JsonObject,
  type JsonValue,
  type Message,
  ScalarType,
  toJson,
} from "@bufbuild/protobuf";
import {
  DurationSchema,
  FeatureSet_FieldPresence,
  FieldDescriptorProto_Label as Label,
  FieldDescriptorProto_Type as Type,
  FileDescriptorProtoSchema,
  FileDescriptorSetSchema,
  TimestampSchema,
  file_google_protobuf_duration,
  file_google_protobuf_timestamp,
} from "@bufbuild/protobuf/wkt";
import { descriptorRegistry } from "../../src/transport/descriptors";
import { jsonWriter } from "../../src/transport/http/json-writer";

/**
 * The writer against protobuf-es's own protojson (`toJson` with alwaysEmitImplicit, then
 * EmitUnpopulated's nulls), on random messages: every message of the service's protos,
 * the descriptor protos (proto2: doubles, bytes, 64-bit integers, explicit presence), and
 * a test schema with what those lack (maps, a oneof, floats, sint64, a proto3 optional).
 */
describe("jsonWriter (protojson text, compiled per schema)", () => {
  it("writes what protobuf-es's toJson writes, with every unset field as null, for random messages of every schema", () => {
    const schemas = [...serviceSchemas(), FileDescriptorSetSchema, mixedSchema()];
    for (const schema of schemas) {
      fc.assert(
        fc.property(arbitraryMessage(schema, 3), (message) => {
          expect(JSON.parse(jsonWriter(schema)(message)), schema.typeName).to.deep.equal(expectedJson(schema, message));
        }),
        { seed: 20261130, numRuns: 150 },
      );
    }
  });

  it("spells Timestamps and Durations as protojson does at their edges", () => {
    const write = (seconds: bigint, nanos: number): string => jsonWriter(TimestampHolder)(create(TimestampHolder, { at: create(TimestampSchema, { seconds, nanos }) } as never));
    expect(write(0n, 0)).to.equal('{"at":"1970-01-01T00:00:00Z","ttl":null}');
    expect(write(1_796_004_800n, 123_000_000)).to.equal('{"at":"2026-11-30T02:13:20.123Z","ttl":null}');
    expect(write(1_796_004_800n, 1_000)).to.equal('{"at":"2026-11-30T02:13:20.000001Z","ttl":null}');
    expect(write(-62_135_596_800n, 0)).to.equal('{"at":"0001-01-01T00:00:00Z","ttl":null}');
    // The same second again (a cache hit), other milliseconds; a second 64 s on (the same cache line, another second).
    expect(write(1_796_004_800n, 7_000_000)).to.equal('{"at":"2026-11-30T02:13:20.007Z","ttl":null}');
    expect(write(1_796_004_800n, 0)).to.equal('{"at":"2026-11-30T02:13:20Z","ttl":null}');
    expect(write(1_796_004_864n, 40_000_000)).to.equal('{"at":"2026-11-30T02:14:24.040Z","ttl":null}');
    expect(write(-1n, 999_000_000)).to.equal('{"at":"1969-12-31T23:59:59.999Z","ttl":null}');
    expect(() => write(253_402_300_800n, 0)).to.throw(); // past 9999-12-31: protojson has no spelling for it
    const duration = (seconds: bigint, nanos: number): string => jsonWriter(TimestampHolder)(create(TimestampHolder, { ttl: create(DurationSchema, { seconds, nanos }) } as never));
    expect(duration(300n, 0)).to.equal('{"at":null,"ttl":"300s"}');
    expect(duration(1n, 500_000_000)).to.equal('{"at":null,"ttl":"1.500s"}');
    expect(duration(0n, -1)).to.equal('{"at":null,"ttl":"-0.000000001s"}');
  });
});

const TimestampHolder = testSchema("Holder", [
  { name: "at", number: 1, type: Type.MESSAGE, typeName: ".google.protobuf.Timestamp" },
  { name: "ttl", number: 2, type: Type.MESSAGE, typeName: ".google.protobuf.Duration" },
]);

function serviceSchemas(): DescMessage[] {
  const registry = descriptorRegistry();
  const schemas: DescMessage[] = [];
  for (const type of registry) if (type.kind === "message" && type.typeName.startsWith("tokens.")) schemas.push(type);
  expect(schemas.length).to.be.greaterThan(10);
  return schemas;
}

/** A schema with what the service's protos and descriptor.proto lack. (No Struct: protobuf-es's toJson writes one from a registry built at run time as a raw message, so it is no oracle there; the writer hands Struct to toJson anyway.) */
function mixedSchema(): DescMessage {
  return testSchema("Mixed", [
    { name: "labels", number: 1, type: Type.MESSAGE, typeName: ".test.Mixed.LabelsEntry", label: Label.REPEATED },
    { name: "children", number: 2, type: Type.MESSAGE, typeName: ".test.Mixed.ChildrenEntry", label: Label.REPEATED },
    { name: "text", number: 3, type: Type.STRING, oneofIndex: 0 },
    { name: "child", number: 4, type: Type.MESSAGE, typeName: ".test.Mixed", oneofIndex: 0 },
    { name: "ratio", number: 5, type: Type.FLOAT },
    { name: "delta", number: 6, type: Type.SINT64 },
    { name: "flags", number: 8, type: Type.BOOL, label: Label.REPEATED },
    { name: "maybe", number: 9, type: Type.DOUBLE, proto3Optional: true, oneofIndex: 1 },
  ]);
}

interface FieldSpec {
  readonly name: string;
  readonly number: number;
  readonly type: Type;
  readonly typeName?: string;
  readonly label?: Label;
  readonly oneofIndex?: number;
  readonly proto3Optional?: boolean;
}

/** A proto3 message of package `test`, built as a descriptor (Mixed also gets its two map entries). */
function testSchema(name: string, fields: readonly FieldSpec[]): DescMessage {
  const entry = (entryName: string, value: Partial<FieldSpec>) => ({
    name: entryName,
    options: { mapEntry: true },
    field: [
      { name: "key", number: 1, type: entryName === "LabelsEntry" ? Type.STRING : Type.INT64, label: Label.OPTIONAL, jsonName: "key" },
      { name: "value", number: 2, label: Label.OPTIONAL, jsonName: "value", ...value },
    ],
  });
  const file = create(FileDescriptorProtoSchema, {
    name: `test/${name}.proto`,
    package: "test",
    syntax: "proto3",
    dependency: ["google/protobuf/timestamp.proto", "google/protobuf/duration.proto"],
    messageType: [
      {
        name,
        field: fields.map((field) => ({ label: Label.OPTIONAL, jsonName: lowerCamel(field.name), ...field })),
        oneofDecl: fields.some((field) => field.oneofIndex !== undefined) ? [{ name: "choice" }, { name: "_maybe" }] : [],
        nestedType: name === "Mixed" ? [entry("LabelsEntry", { type: Type.INT32 }), entry("ChildrenEntry", { type: Type.MESSAGE, typeName: ".test.Mixed" })] : [],
      },
    ],
  });
  const registry = createFileRegistry(file, (dependency) =>
    [file_google_protobuf_timestamp, file_google_protobuf_duration].find((known) => known.name === dependency.replace(/\.proto$/, "")),
  );
  const schema = registry.getMessage(`test.${name}`);
  if (schema === undefined) throw new Error(`no test.${name}`);
  return schema;
}

function lowerCamel(name: string): string {
  return name.replace(/_([a-z])/g, (_match, letter: string) => letter.toUpperCase());
}

/** The oracle: protobuf-es's toJson, every unset non-oneof field of a regular message added as null. */
function expectedJson(schema: DescMessage, message: Message): JsonValue {
  const filled = withNulls(schema, toJson(schema, message, { alwaysEmitImplicit: true }));
  return JSON.parse(JSON.stringify(filled)) as JsonValue; // as on the wire: -0 is 0
}

function withNulls(schema: DescMessage, json: JsonValue): JsonValue {
  if (OWN_JSON_FORM.test(schema.typeName) || json === null || typeof json !== "object" || Array.isArray(json)) return json;
  const out: JsonObject = {};
  for (const field of schema.fields) {
    const value = json[field.jsonName];
    if (value === undefined) {
      if (field.oneof === undefined) out[field.jsonName] = null;
      continue;
    }
    const nested = field.fieldKind === "message" || field.fieldKind === "list" || field.fieldKind === "map" ? messageOf(field) : undefined;
    if (nested === undefined) out[field.jsonName] = value;
    else if (field.fieldKind === "list" && Array.isArray(value)) out[field.jsonName] = value.map((item) => withNulls(nested, item));
    else if (field.fieldKind === "map" && typeof value === "object" && value !== null && !Array.isArray(value)) {
      out[field.jsonName] = Object.fromEntries(Object.entries(value).map(([key, item]) => [key, withNulls(nested, item)]));
    } else out[field.jsonName] = withNulls(nested, value);
  }
  return out;
}

/** Well-known types whose JSON is not an object of their fields. */
const OWN_JSON_FORM = /^google\.protobuf\.(Timestamp|Duration|Any|FieldMask|Struct|Value|ListValue|\w+Value)$/;

function messageOf(field: DescField): DescMessage | undefined {
  if (field.fieldKind === "message") return field.message;
  if (field.fieldKind === "list" && field.listKind === "message") return field.message;
  if (field.fieldKind === "map" && field.mapKind === "message") return field.message;
  return undefined;
}

/** Random messages of a schema, from its descriptor: every field kind, unset fields, unknown enum numbers. */
function arbitraryMessage(schema: DescMessage, depth: number): fc.Arbitrary<Message> {
  if (schema.typeName === TimestampSchema.typeName) {
    const nanos = fc.oneof(fc.integer({ min: 0, max: 999 }).map((ms) => ms * 1_000_000), fc.integer({ min: 0, max: 999_999_999 }));
    return fc.record({ seconds: fc.bigInt(-62_135_596_800n, 253_402_300_799n), nanos }).map((init) => create(TimestampSchema, init));
  }
  if (schema.typeName === DurationSchema.typeName) {
    return fc
      .record({ seconds: fc.bigInt(-315_576_000_000n, 315_576_000_000n), nanos: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 999_999_999 })) })
      .map(({ seconds, nanos }) => create(DurationSchema, { seconds, nanos: seconds < 0n ? -nanos : nanos }));
  }
  const parts: Record<string, fc.Arbitrary<unknown>> = {};
  for (const oneof of schema.oneofs) {
    const choices = oneof.fields.filter((field) => depth >= 0 || messageOf(field) === undefined).map((field) => fieldArbitrary(field, depth).map((value) => ({ case: field.localName, value })));
    parts[oneof.localName] = fc.oneof(fc.constant({ case: undefined }), ...choices);
  }
  for (const field of schema.fields) {
    if (field.oneof !== undefined) continue;
    if (depth < 0 && messageOf(field) !== undefined) {
      if (field.fieldKind !== "message") parts[field.localName] = fc.constant(field.fieldKind === "list" ? [] : {});
      continue;
    }
    const value = fieldArbitrary(field, depth);
    // Implicit presence is always written; proto2's required cannot be written unset (protobuf-es refuses).
    const { IMPLICIT, LEGACY_REQUIRED } = FeatureSet_FieldPresence;
    const mayBeUnset =
      field.presence !== LEGACY_REQUIRED && (field.fieldKind === "message" || (field.fieldKind !== "list" && field.fieldKind !== "map" && field.presence !== IMPLICIT));
    parts[field.localName] = mayBeUnset ? fc.option(value, { nil: undefined }) : value;
  }
  return fc.record(parts).map((init) => create(schema, init as never));
}

function fieldArbitrary(field: DescField, depth: number): fc.Arbitrary<unknown> {
  // Below the depth, nested messages carry only scalars (their own message fields empty).
  const message = (desc: DescMessage) => arbitraryMessage(desc, depth - 1);
  const enumValue = (numbers: readonly number[]) => fc.oneof(fc.constantFrom(...numbers), fc.integer({ min: 100, max: 200 }));
  switch (field.fieldKind) {
    case "scalar":
      return scalarArbitrary(field.scalar);
    case "enum":
      return enumValue(field.enum.values.map((value) => value.number));
    case "message":
      return message(field.message);
    case "list": {
      const item = field.listKind === "scalar" ? scalarArbitrary(field.scalar) : field.listKind === "enum" ? enumValue(field.enum.values.map((v) => v.number)) : message(field.message);
      return fc.array(item, { maxLength: 3 });
    }
    case "map": {
      const item = field.mapKind === "scalar" ? scalarArbitrary(field.scalar) : field.mapKind === "enum" ? enumValue(field.enum.values.map((v) => v.number)) : message(field.message);
      const key = field.mapKey === ScalarType.STRING ? fc.string({ maxLength: 5 }) : fc.bigInt(-(2n ** 63n), 2n ** 63n - 1n).map(String);
      return fc.dictionary(key, item, { maxKeys: 3 });
    }
  }
}

function scalarArbitrary(type: ScalarType): fc.Arbitrary<unknown> {
  switch (type) {
    case ScalarType.STRING:
      return fc.string({ unit: "binary", maxLength: 8 });
    case ScalarType.BOOL:
      return fc.boolean();
    case ScalarType.DOUBLE:
      return fc.double();
    case ScalarType.FLOAT:
      return fc.float();
    case ScalarType.BYTES:
      return fc.uint8Array({ maxLength: 6 });
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      return fc.integer();
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return fc.integer({ min: 0, max: 2 ** 32 - 1 });
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return fc.bigInt(0n, 2n ** 64n - 1n);
    default:
      return fc.bigInt(-(2n ** 63n), 2n ** 63n - 1n);
  }
}
