import { create, type DescField, type DescMessage, fromBinary, ScalarType, toBinary } from "@bufbuild/protobuf";
import { reflect, type ReflectMessage } from "@bufbuild/protobuf/reflect";
import { DurationSchema } from "@bufbuild/protobuf/wkt";
import type { Random } from "./random";

/**
 * Request messages for the gRPC fuzz: valid ones made from the generated schemas
 * (protobuf-es `create` and `toBinary`, never a hand-written encoder), with values
 * chosen to hurt (empty, over-long and unknown key ids, extreme numbers, durations out
 * of range), then their bytes broken on purpose: flipped, cut, padded, bad varints,
 * wrong wire types for known field numbers, impossible lengths, invalid UTF-8.
 */
export interface FuzzMessage {
  readonly bytes: Uint8Array;
  /** What was done to the bytes after encoding ("" when nothing). */
  readonly mutations: readonly string[];
}

export interface MessageContext {
  readonly knownKeys: readonly string[];
  /** A fresh marker each call: planted in strings the server could quote back. */
  readonly plant: () => string;
}

export function fuzzMessage(random: Random, schema: DescMessage, context: MessageContext): FuzzMessage {
  const message = create(schema);
  fill(random, reflect(schema, message), context, 0);
  let bytes: Uint8Array = toBinary(schema, message);
  const mutations: string[] = [];
  if (random.chance(0.45)) {
    for (let i = random.int(1, 2); i > 0; i -= 1) {
      const [name, mutated] = mutate(random, bytes, schema);
      mutations.push(name);
      bytes = mutated;
    }
  }
  return { bytes, mutations };
}

/**
 * Whether the server's deserializer takes these bytes: the same protobuf-es call with the
 * same options as src/transport/grpc/adapter.ts. A message that does not parse is the one
 * case where the gRPC spec has the server answer INTERNAL.
 */
export function parses(schema: DescMessage, bytes: Uint8Array): boolean {
  try {
    fromBinary(schema, bytes, { readUnknownFields: false });
    return true;
  } catch {
    return false;
  }
}

function fill(random: Random, target: ReflectMessage, context: MessageContext, depth: number): void {
  for (const field of target.fields) {
    if (field.oneof !== undefined || !random.chance(0.6)) continue;
    if (field.fieldKind === "list") {
      const list = target.get(field);
      for (let i = random.int(0, 3); i > 0; i -= 1) {
        if (field.listKind === "scalar") list.add(scalarValue(random, field.scalar, context));
        else if (field.listKind === "enum") list.add(enumValue(random, field));
        else if (depth < 3) list.add(messageValue(random, field.message, context, depth + 1));
      }
    } else if (field.fieldKind === "scalar") {
      target.set(field, scalarValue(random, field.scalar, context));
    } else if (field.fieldKind === "enum") {
      target.set(field, enumValue(random, field));
    } else if (field.fieldKind === "message" && depth < 3) {
      target.set(field, messageValue(random, field.message, context, depth + 1));
    }
  }
}

function messageValue(random: Random, schema: DescMessage, context: MessageContext, depth: number): ReflectMessage {
  if (schema.typeName === DurationSchema.typeName) {
    return reflect(
      DurationSchema,
      create(DurationSchema, {
        seconds: random.pick([0n, 1n, -1n, 2n, 600n, 3600n, 86_401n, 315_576_000_000n, 315_576_000_001n, 9_223_372_036_854_775_807n, -9_223_372_036_854_775_808n]),
        nanos: random.pick([0, 1, 500_000_000, 999_999_999, -1, -500_000_000, 1_000_000_000, 2_147_483_647, -2_147_483_648]),
      }),
    );
  }
  const nested = reflect(schema, create(schema));
  fill(random, nested, context, depth);
  return nested;
}

function enumValue(random: Random, field: DescField & { readonly enum: { readonly values: readonly { readonly number: number }[] } }): number {
  return random.chance(0.7) ? random.pick(field.enum.values).number : random.pick([-1, 4, 7, 99, 2_147_483_647, -2_147_483_648]);
}

function scalarValue(random: Random, scalar: ScalarType, context: MessageContext): string | number | bigint | boolean | Uint8Array {
  switch (scalar) {
    case ScalarType.STRING:
      return random.weighted<() => string>([
        [5, () => random.pick(context.knownKeys)],
        [4, () => context.plant()],
        [2, () => ""],
        [1, () => `${context.plant()}${"x".repeat(random.pick([118, 119, 200, 1000]))}`],
        [1, () => `🔑${context.plant()}`],
        [1, () => `\u0000${context.plant()}\u200b`],
        [1, () => "x".repeat(70_000)], // over the 64 KiB message limit
        [1, () => Buffer.from(`m${random.int(0, 99)}`).toString("base64url")],
      ])();
    case ScalarType.BOOL:
      return random.chance(0.5);
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return random.pick([0, 1, 2, 10, 100, 1000, 1001, 4_294_967_295]);
    case ScalarType.INT32:
    case ScalarType.SINT32:
    case ScalarType.SFIXED32:
      return random.pick([0, 1, -1, 2_147_483_647, -2_147_483_648]);
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return random.pick([0n, 1n, 2n, 3n, 1000n, 9_007_199_254_740_993n, 18_446_744_073_709_551_615n]);
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return random.pick([0n, 1n, -1n, 9_223_372_036_854_775_807n, -9_223_372_036_854_775_808n]);
    case ScalarType.FLOAT:
    case ScalarType.DOUBLE:
      return random.pick([0, -0, 1.5, Number.NaN, Number.POSITIVE_INFINITY]);
    case ScalarType.BYTES:
      return random.bytes(random.int(0, 16));
  }
}

/** A varint's bytes (up to 64 bits). */
export function varint(value: bigint): Buffer {
  const out: number[] = [];
  let rest = BigInt.asUintN(64, value);
  do {
    const low = Number(rest & 0x7fn);
    rest >>= 7n;
    out.push(rest === 0n ? low : low | 0x80);
  } while (rest !== 0n);
  return Buffer.from(out);
}

const tag = (fieldNumber: number, wireType: number): Buffer => varint(BigInt((fieldNumber << 3) | wireType));

/** One way of breaking encoded bytes: its name and the result. */
function mutate(random: Random, bytes: Uint8Array, schema: DescMessage): [string, Uint8Array] {
  const input = Buffer.from(bytes);
  const fieldNumber = schema.fields.length > 0 ? random.pick(schema.fields).number : random.int(1, 5);
  const at = random.int(0, input.length);
  const insert = (name: string, extra: Buffer): [string, Uint8Array] => [name, Buffer.concat([input.subarray(0, at), extra, input.subarray(at)])];
  return random.weighted<() => [string, Uint8Array]>([
    [3, () => {
      if (input.length === 0) return ["flip (nothing to flip)", input];
      const out = Buffer.from(input);
      const i = random.int(0, out.length - 1);
      out[i] = (out[i] as number) ^ random.int(1, 255);
      return [`flip byte ${i}`, out];
    }],
    [2, () => [`truncate to ${Math.floor(input.length * random.float())}`, input.subarray(0, Math.floor(input.length * random.float()))]],
    [2, () => ["append random bytes", Buffer.concat([input, random.bytes(random.int(1, 12))])]],
    [2, () => insert("bad varint (11 continuation bytes)", Buffer.concat([tag(fieldNumber, 0), Buffer.alloc(11, 0xff)]))],
    [1, () => insert("varint cut short", Buffer.concat([tag(fieldNumber, 0), Buffer.from([0x80, 0x80])]))],
    [3, () => {
      const wireType = random.pick([0, 1, 2, 5]);
      const payload = wireType === 0 ? varint(BigInt(random.int(0, 300))) : wireType === 1 ? random.bytes(8) : wireType === 5 ? random.bytes(4) : Buffer.concat([varint(3n), random.bytes(3)]);
      return insert(`field ${fieldNumber} as wire type ${wireType}`, Buffer.concat([tag(fieldNumber, wireType), payload]));
    }],
    [1, () => insert(`field ${fieldNumber} as a group (wire types 3/4)`, Buffer.concat([tag(fieldNumber, 3), tag(fieldNumber, random.pick([4, 2]))]))],
    [1, () => insert(`invalid wire type`, Buffer.concat([tag(fieldNumber, random.pick([6, 7])), random.bytes(2)]))],
    [1, () => insert("field number 0", Buffer.concat([Buffer.from([random.pick([0x00, 0x02, 0x05])]), random.bytes(2)]))],
    [1, () => insert("field number above 2^29", Buffer.concat([varint((1n << 32n) | 2n), varint(1n), Buffer.from("x")]))],
    [2, () => insert(`field ${fieldNumber} claims a huge length`, Buffer.concat([tag(fieldNumber, 2), varint(random.pick([2n ** 31n, 2n ** 32n - 1n, 2n ** 63n, 2n ** 64n - 1n, 1000n])), random.bytes(3)]))],
    [1, () => insert(`field ${fieldNumber} with invalid UTF-8`, Buffer.concat([tag(fieldNumber, 2), varint(2n), Buffer.from([0xc3, 0x28])]))],
    [1, () => insert(`field ${fieldNumber} twice`, Buffer.concat([tag(fieldNumber, 2), varint(1n), Buffer.from("a")]))],
    [1, () => insert("an unknown field", Buffer.concat([tag(random.int(10, 5000), 2), varint(2n), random.bytes(2)]))],
    [1, () => ["random bytes instead", random.bytes(random.int(1, 40))]],
  ])();
}
