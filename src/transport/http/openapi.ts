import { type DescEnum, type DescField, type DescFile, type DescMessage, type DescMethod, type DescService, ScalarType } from "@bufbuild/protobuf";
import { FeatureSet_FieldPresence } from "@bufbuild/protobuf/wkt";
import { Code } from "../../service/status";
import type { GatewayOptions } from "./gateway";
import { httpStatusOf } from "./http-status";
import type { PathTemplate } from "./path-template";
import type { Route } from "./routes";

/**
 * The OpenAPI 3.0.3 description of the REST shim, generated from the same route
 * table and descriptors the gateway serves, so the document cannot drift from
 * the behaviour. 3.0.3 rather than 3.1 because the 3.0 schema checks every
 * Schema Object (the 3.1 one accepts any object there) and more tools read it.
 *
 * JSON shapes follow the gateway's protojson: lowerCamel names, 64-bit integers
 * as strings, enums by name, well-known types in their JSON forms, and in
 * responses every field present (unset messages as null: `nullable`).
 */

// ---------------------------------------------------------------------------
// The document's types: the subset of OpenAPI 3.0.3 this generator writes.
// Type aliases rather than interfaces so a document is a Record<string, unknown>.

export type OpenApiReference = { readonly $ref: string };

export type OpenApiSchemaObject = {
  readonly type?: "string" | "number" | "integer" | "boolean" | "array" | "object";
  readonly format?: string;
  readonly description?: string;
  readonly nullable?: boolean;
  readonly deprecated?: boolean;
  readonly enum?: readonly (string | null)[];
  readonly pattern?: string;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly items?: OpenApiSchema;
  readonly properties?: Readonly<Record<string, OpenApiSchema>>;
  readonly required?: readonly string[];
  readonly additionalProperties?: OpenApiSchema | boolean;
  readonly maxProperties?: number;
  readonly allOf?: readonly OpenApiSchema[];
  readonly oneOf?: readonly OpenApiSchema[];
};

export type OpenApiSchema = OpenApiReference | OpenApiSchemaObject;

/** A body's media types: JSON, or Server-Sent Events for a server stream's answer. */
export type OpenApiMediaTypes = { readonly [type in "application/json" | "text/event-stream"]?: { readonly schema: OpenApiSchema } };

export type OpenApiParameter = {
  readonly name: string;
  readonly schema: OpenApiSchema;
  readonly description?: string;
  readonly deprecated?: boolean;
} & ({ readonly in: "path"; readonly required: true } | { readonly in: "query" | "header"; readonly required: false });

export type OpenApiRequestBody = { readonly required: boolean; readonly content: OpenApiMediaTypes };

export type OpenApiResponse = { readonly description: string; readonly content?: OpenApiMediaTypes };

export type OpenApiOperation = {
  readonly operationId: string;
  readonly tags: readonly string[];
  readonly summary?: string;
  readonly description?: string;
  readonly deprecated?: boolean;
  readonly parameters?: readonly OpenApiParameter[];
  readonly requestBody?: OpenApiRequestBody;
  readonly responses: Readonly<Record<string, OpenApiResponse>>;
};

export type OpenApiVerb = "get" | "put" | "post" | "delete" | "options" | "head" | "patch" | "trace";

export type OpenApiPathItem = { readonly [verb in OpenApiVerb]?: OpenApiOperation };

export type OpenApiInfo = { readonly title: string; readonly version: string; readonly description?: string };

export type OpenApiTag = { readonly name: string; readonly description?: string };

export type OpenApiDocument = {
  readonly openapi: "3.0.3";
  readonly info: OpenApiInfo;
  readonly tags: readonly OpenApiTag[];
  readonly paths: Readonly<Record<string, OpenApiPathItem>>;
  readonly components: {
    readonly schemas: Readonly<Record<string, OpenApiSchema>>;
    readonly securitySchemes: Readonly<Record<string, { readonly type: "http"; readonly scheme: "bearer" }>>;
  };
  readonly security: readonly Readonly<Record<string, readonly string[]>>[];
};

/** The components.schemas key of the error body every failure carries. */
export const ERROR_SCHEMA = "Status";

const DEFAULT_INFO: OpenApiInfo = {
  title: "Token Orchestrator",
  version: "1.0.0",
  description:
    "The REST mapping of the gRPC API, generated from the proto's google.api.http options: the routes the gateway serves. " +
    "JSON follows protojson; every response field is present, unset messages as null.",
};

// ---------------------------------------------------------------------------
// The document.

export function openApiDocument(routes: readonly Route[], options: GatewayOptions = {}, info: Partial<OpenApiInfo> = {}): OpenApiDocument {
  const schemas = new SchemaBuilder();
  // Response forms first, so they claim the plain message names (request forms differ: see SchemaBuilder.keyOf).
  const documented = routes.map((route) => ({ route, success: successResponse(route, options, schemas) }));
  const operationIds = new OperationIds();
  const paths: Record<string, Partial<Record<OpenApiVerb, OpenApiOperation>>> = {};
  for (const { route, success } of documented) {
    const verb = openApiVerb(route.httpMethod);
    // A google.api.http custom verb (e.g. LIST) has no OpenAPI operation slot.
    if (verb === undefined) continue;
    const { path, variables } = openApiPath(route.template);
    const item = (paths[path] ??= {});
    // Templates that differ only in variable patterns share one OpenAPI path; the first (the matcher's winner) is shown.
    if (item[verb] !== undefined) continue;
    item[verb] = operationOf(route, {
      operationId: operationIds.next(route.method),
      parameters: [...pathParameters(route, variables, schemas), ...queryParameters(route, schemas), ...resumeHeader(route, options)],
      requestBody: requestBodyOf(route, schemas),
      responses: { ...success, ...emptyErrorResponses(route, options), default: ERROR_RESPONSE },
    });
  }
  return {
    openapi: "3.0.3",
    info: { ...DEFAULT_INFO, ...info },
    tags: tagsOf(routes),
    paths,
    // Bearer tokens (AUTH_TOKENS_FILE); a service running open ignores them.
    components: { schemas: schemas.all(), securitySchemes: { bearerAuth: { type: "http", scheme: "bearer" } } },
    security: [{ bearerAuth: [] }],
  };
}

/** A server stream's Last-Event-ID header, as EventSource sends it on reconnect. */
function resumeHeader(route: Route, options: GatewayOptions): OpenApiParameter[] {
  const fields = options.eventStreams?.[route.grpcPath];
  if (fields === undefined) return [];
  return [
    {
      name: "Last-Event-ID",
      in: "header",
      required: false,
      schema: { type: "string", pattern: "^[0-9]+$" },
      description: `The ${fields.id} of the last event seen: the stream resumes after it (it wins over ${fields.resumeField}).`,
    },
  ];
}

function tagsOf(routes: readonly Route[]): OpenApiTag[] {
  const services = [...new Set(routes.map((route) => route.method.parent))];
  return services.map((service) => ({ name: service.name, ...optional("description", commentOf(service)) }));
}

interface OperationParts {
  readonly operationId: string;
  readonly parameters: readonly OpenApiParameter[];
  readonly requestBody: OpenApiRequestBody | undefined;
  readonly responses: Readonly<Record<string, OpenApiResponse>>;
}

function operationOf(route: Route, parts: OperationParts): OpenApiOperation {
  const { method } = route;
  return {
    operationId: parts.operationId,
    tags: [method.parent.name],
    ...summaryAndDescription(commentOf(method)),
    ...(method.deprecated ? { deprecated: true } : {}),
    ...(parts.parameters.length > 0 ? { parameters: parts.parameters } : {}),
    ...optional("requestBody", parts.requestBody),
    responses: parts.responses,
  };
}

/** `${Service}_${Method}`, suffixed _1, _2… for additional_bindings so every id is unique. */
class OperationIds {
  private readonly used = new Set<string>();

  next(method: DescMethod): string {
    const base = `${method.parent.name}_${method.name}`;
    let id = base;
    for (let n = 1; this.used.has(id); n += 1) id = `${base}_${n}`;
    this.used.add(id);
    return id;
  }
}

const OPENAPI_VERBS: ReadonlySet<string> = new Set(["get", "put", "post", "delete", "options", "head", "patch", "trace"]);

function openApiVerb(httpMethod: string): OpenApiVerb | undefined {
  const verb = httpMethod.toLowerCase();
  return OPENAPI_VERBS.has(verb) ? (verb as OpenApiVerb) : undefined;
}

// ---------------------------------------------------------------------------
// Paths and parameters.

interface PathVariable {
  readonly name: string;
  /** The request field it binds; undefined for a bare `*` or `**` outside any variable. */
  readonly field: string | undefined;
  /** A regular expression when the variable spans more than one plain segment. */
  readonly pattern: string | undefined;
}

type Piece = PathTemplate["pieces"][number];

/** `/v1/{name=shelves/*}/books:get` → `/v1/{name}/books:get`, with the variables in order. */
function openApiPath(template: PathTemplate): { path: string; variables: PathVariable[] } {
  const starts = new Map(template.captures.map((capture) => [capture.from, capture]));
  const segments: string[] = [];
  const variables: PathVariable[] = [];
  for (let i = 0; i < template.pieces.length; ) {
    const capture = starts.get(i);
    if (capture !== undefined) {
      const covered = template.pieces.slice(capture.from, capture.to);
      const single = covered.length === 1 && covered[0]?.kind === "one";
      variables.push({ name: capture.field, field: capture.field, pattern: single ? undefined : segmentsPattern(covered) });
      segments.push(`{${capture.field}}`);
      i = Math.max(capture.to, i + 1);
      continue;
    }
    const piece = template.pieces[i] as Piece;
    if (piece.kind === "literal") {
      segments.push(piece.text);
    } else {
      // An unnamed wildcard still needs a parameter; "-" keeps the name clear of every proto field name.
      const name = `wildcard-${variables.filter((v) => v.field === undefined).length + 1}`;
      variables.push({ name, field: undefined, pattern: piece.kind === "rest" ? segmentsPattern([piece]) : undefined });
      segments.push(`{${name}}`);
    }
    i += 1;
  }
  const verb = template.verb === undefined ? "" : `:${template.verb}`;
  return { path: `/${segments.join("/")}${verb}`, variables };
}

/** The values a multi-segment variable matches, as matchTemplate reads them ("/" kept). */
function segmentsPattern(pieces: readonly Piece[]): string {
  const parts = pieces.map((piece, i) => {
    const separator = i === 0 ? "" : "/";
    if (piece.kind === "rest") return i === 0 ? ".*" : "(?:/.*)?";
    return separator + (piece.kind === "literal" ? escapeRegExp(piece.text) : "[^/]+");
  });
  return `^${parts.join("")}$`;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function pathParameters(route: Route, variables: readonly PathVariable[], schemas: SchemaBuilder): OpenApiParameter[] {
  return variables.map((variable) => {
    const field = variable.field === undefined ? undefined : fieldAt(route, route.method.input, variable.field);
    const base: OpenApiSchema = field === undefined ? { type: "string" } : schemas.valueSchema(field, "request");
    const schema = variable.pattern === undefined ? base : { type: "string" as const, pattern: variable.pattern };
    const note = variable.pattern === undefined ? undefined : "Spans several path segments: send its \"/\" unescaped.";
    const description = [field === undefined ? undefined : commentOf(field), note].filter((text) => text !== undefined).join("\n\n");
    return {
      name: variable.name,
      in: "path" as const,
      required: true as const,
      schema,
      ...optional("description", description === "" ? undefined : description),
      ...(field?.deprecated === true ? { deprecated: true } : {}),
    };
  });
}

/**
 * Unless the whole body is the request, the codec fills the fields neither the
 * path nor the body bound from the query string: every top-level field whose
 * JSON form is a scalar or a list of scalars. Named by JSON name (the codec also
 * accepts the proto name), as grpc-gateway's OpenAPI generator does.
 */
function queryParameters(route: Route, schemas: SchemaBuilder): OpenApiParameter[] {
  if (route.body === "*") return [];
  const bound = new Set<string>([...route.template.fields, route.body]);
  return route.method.input.fields
    .filter((field) => !bound.has(field.name) && isQueryable(field))
    .map((field) => ({
      name: field.jsonName,
      in: "query" as const,
      required: false as const,
      schema: schemas.valueSchema(field, "request"),
      ...optional("description", commentOf(field)),
      ...(field.deprecated ? { deprecated: true } : {}),
    }));
}

function isQueryable(field: DescField): boolean {
  switch (field.fieldKind) {
    case "scalar":
    case "enum":
      return true;
    case "message":
      return SCALAR_WELL_KNOWN.has(field.message.typeName);
    case "list":
      return field.listKind !== "message" || SCALAR_WELL_KNOWN.has(field.message.typeName);
    case "map":
      return false;
  }
}

function requestBodyOf(route: Route, schemas: SchemaBuilder): OpenApiRequestBody | undefined {
  if (route.body === "") return undefined;
  const input = route.method.input;
  let schema: OpenApiSchema;
  if (route.body === "*") {
    // Path variables overwrite body fields, so the fields the path binds are left out of the body.
    const bound = new Set(route.template.fields);
    schema = input.fields.some((field) => bound.has(field.name)) ? schemas.messageObject(input, "request", bound) : schemas.messageSchema(input, "request");
  } else {
    schema = schemas.valueSchema(fieldAt(route, input, route.body), "request");
  }
  // An empty body is accepted (it leaves the fields unset).
  return { required: false, content: jsonContent(schema) };
}

// ---------------------------------------------------------------------------
// Responses.

const STATUS_TEXT: Readonly<Record<number, string>> = { 200: "OK", 201: "Created", 202: "Accepted", 204: "No Content" };

function successResponse(route: Route, options: GatewayOptions, schemas: SchemaBuilder): Record<string, OpenApiResponse> {
  const status = options.successStatus?.[route.grpcPath] ?? 200;
  const output = route.method.output;
  const schema =
    route.responseBody === "" ? schemas.messageSchema(output, "response") : schemas.fieldSchema(fieldAt(route, output, route.responseBody), "response");
  if (route.method.methodKind === "server_streaming") {
    return {
      [String(status)]: {
        description:
          "Server-Sent Events: one frame per message, `data:` the message as JSON (this schema)" +
          (options.eventStreams?.[route.grpcPath] === undefined
            ? "."
            : `, \`id:\` its ${options.eventStreams[route.grpcPath]?.id}, \`event:\` its ${options.eventStreams[route.grpcPath]?.event}. A failure after the stream opened ends it with an \`error\` event whose data is the error body.`),
        content: { "text/event-stream": { schema } },
      },
    };
  }
  return { [String(status)]: { description: STATUS_TEXT[status] ?? "Success", content: jsonContent(schema) } };
}

const EMPTY_OBJECT: OpenApiSchemaObject = { type: "object", maxProperties: 0 };

const ERROR_RESPONSE: OpenApiResponse = {
  description: "An error: the gRPC status as JSON, with the HTTP status grpc-gateway maps its code to.",
  content: jsonContent(ref(ERROR_SCHEMA)),
};

/** Every gRPC code but OK, i.e. every code a failure can carry. */
const ERROR_CODES: readonly number[] = Array.from({ length: 16 }, (_, i) => i + 1);

/**
 * The statuses whose body is `{}` instead of the error object (GatewayOptions.emptyErrorBody).
 * When other codes share that HTTP status, the body may be either.
 */
function emptyErrorResponses(route: Route, options: GatewayOptions): Record<string, OpenApiResponse> {
  const codes = options.emptyErrorBody?.[route.grpcPath] ?? [];
  const responses: Record<string, OpenApiResponse> = {};
  for (const status of new Set(codes.map(httpStatusOf))) {
    const empty = codes.filter((code) => httpStatusOf(code) === status);
    const onlyEmpty = ERROR_CODES.every((code) => httpStatusOf(code) !== status || empty.includes(code));
    responses[String(status)] = {
      description: `${empty.map(codeName).join(", ")}: answered with an empty object instead of the error body.`,
      content: jsonContent(onlyEmpty ? EMPTY_OBJECT : { oneOf: [EMPTY_OBJECT, ref(ERROR_SCHEMA)] }),
    };
  }
  return responses;
}

function codeName(code: number): string {
  return (Code as unknown as Readonly<Record<number, string | undefined>>)[code] ?? `code ${code}`;
}

/** grpc-gateway's error body: google.rpc.Status as JSON. */
const STATUS_SCHEMA: OpenApiSchemaObject = {
  type: "object",
  description: "The error body: the gRPC status (google.rpc.Status) as JSON.",
  properties: {
    code: { type: "integer", format: "int32", description: "The gRPC status code, e.g. 5 for NOT_FOUND." },
    message: { type: "string", description: "A developer-facing error message." },
    details: {
      type: "array",
      description: "Error details as google.protobuf.Any JSON objects.",
      items: { type: "object", properties: { "@type": { type: "string" } }, additionalProperties: true },
    },
  },
  required: ["code", "message", "details"],
};

function jsonContent(schema: OpenApiSchema): OpenApiMediaTypes {
  return { "application/json": { schema } };
}

// ---------------------------------------------------------------------------
// Schemas from descriptors, in protojson's mapping.

type Direction = "request" | "response";

function ref(key: string): OpenApiReference {
  return { $ref: `#/components/schemas/${key}` };
}

class SchemaBuilder {
  private readonly components = new Map<string, OpenApiSchema>([[ERROR_SCHEMA, STATUS_SCHEMA]]);
  /** Who holds each plain key (a message's full name): a direction, or a built-in schema. */
  private readonly owners = new Map<string, Direction | "builtin">([[ERROR_SCHEMA, "builtin"]]);

  /** The components, sorted by key for a stable, readable document. */
  all(): Record<string, OpenApiSchema> {
    return Object.fromEntries([...this.components].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }

  /** A message: a $ref to its component, or the inline JSON form of a well-known type. */
  messageSchema(desc: DescMessage, direction: Direction): OpenApiSchema {
    const wellKnown = WELL_KNOWN.get(desc.typeName);
    if (wellKnown !== undefined) return wellKnown;
    const key = this.keyOf(desc.typeName, direction);
    if (!this.components.has(key)) {
      // Claimed before recursing so a message that contains itself refers to its own key.
      this.components.set(key, {});
      this.components.set(key, this.messageObject(desc, direction));
    }
    return ref(key);
  }

  /**
   * A message as an object schema, minus the top-level fields in `omit`. A response
   * lists every field but oneof members in `required`: the gateway writes them all
   * (EmitUnpopulated). A request requires nothing: proto3 fields are all optional.
   */
  messageObject(desc: DescMessage, direction: Direction, omit: ReadonlySet<string> = new Set()): OpenApiSchemaObject {
    const fields = desc.fields.filter((field) => !omit.has(field.name));
    const properties = Object.fromEntries(fields.map((field) => [field.jsonName, this.fieldSchema(field, direction)]));
    const required = direction === "response" ? fields.filter((field) => field.oneof === undefined).map((field) => field.jsonName) : [];
    return {
      type: "object",
      ...optional("description", commentOf(desc)),
      ...(desc.deprecated ? { deprecated: true } : {}),
      properties,
      // OpenAPI 3.0 wants `required` non-empty when present.
      ...(required.length > 0 ? { required } : {}),
    };
  }

  /** A field as an object property: its value schema plus nullability, comment and deprecation. */
  fieldSchema(field: DescField, direction: Direction): OpenApiSchema {
    return decorate(this.valueSchema(field, direction), {
      nullable: isNullable(field),
      description: commentOf(field),
      deprecated: field.deprecated,
    });
  }

  /** The JSON form of a field's value (the whole list or map for repeated fields), never null. */
  valueSchema(field: DescField, direction: Direction): OpenApiSchema {
    switch (field.fieldKind) {
      case "scalar":
        return scalarSchema(field.scalar);
      case "enum":
        return this.enumSchema(field.enum);
      case "message":
        return this.messageSchema(field.message, direction);
      case "list":
        return { type: "array", items: this.elementSchema(field, direction) };
      case "map":
        // JSON object keys are strings whatever the proto key type.
        return { type: "object", additionalProperties: this.elementSchema(field, direction) };
    }
  }

  private elementSchema(field: DescField & { fieldKind: "list" | "map" }, direction: Direction): OpenApiSchema {
    if (field.message !== undefined) return this.messageSchema(field.message, direction);
    if (field.enum !== undefined) return this.enumSchema(field.enum);
    return scalarSchema(field.scalar);
  }

  /** Enums are written by value name; google.protobuf.NullValue is JSON null. */
  private enumSchema(desc: DescEnum): OpenApiSchema {
    if (desc.typeName === "google.protobuf.NullValue") return { nullable: true, enum: [null] };
    if (!this.components.has(desc.typeName)) {
      this.components.set(desc.typeName, {
        type: "string",
        ...optional("description", commentOf(desc)),
        enum: desc.values.map((value) => value.name),
      });
    }
    return ref(desc.typeName);
  }

  /**
   * A message's component key: its full name, unless the other direction's form
   * already holds it. Request and response forms differ (only responses list
   * `required`), so a message used both ways gets a second, suffixed key; "-"
   * never occurs in a proto name, so the suffixed key cannot collide.
   */
  private keyOf(typeName: string, direction: Direction): string {
    const owner = this.owners.get(typeName);
    if (owner === undefined) this.owners.set(typeName, direction);
    if (owner === undefined || owner === direction) return typeName;
    return `${typeName}-${direction === "request" ? "Input" : "Output"}`;
  }
}

/**
 * The gateway writes an unset field as null when it has presence (messages,
 * `optional` scalars) and is not in a oneof (unset oneof members are absent).
 * protojson also reads null as "unset", so requests may send it too.
 */
function isNullable(field: DescField): boolean {
  const singular = field.fieldKind === "scalar" || field.fieldKind === "enum" || field.fieldKind === "message";
  return singular && field.oneof === undefined && field.presence === FeatureSet_FieldPresence.EXPLICIT;
}

interface Decoration {
  readonly nullable: boolean;
  readonly description: string | undefined;
  readonly deprecated: boolean;
}

/**
 * Adds nullability, description and deprecation. A 3.0 Reference Object ignores
 * sibling keywords, so a $ref is wrapped in allOf to carry them (the usual 3.0
 * idiom for a nullable reference, read as `T | null` by generators).
 */
function decorate(schema: OpenApiSchema, decoration: Decoration): OpenApiSchema {
  const extra: OpenApiSchemaObject = {
    ...(decoration.nullable ? { nullable: true } : {}),
    ...optional("description", decoration.description),
    ...(decoration.deprecated ? { deprecated: true } : {}),
  };
  if (Object.keys(extra).length === 0) return schema;
  return "$ref" in schema ? { allOf: [schema], ...extra } : { ...schema, ...extra };
}

const INT32: OpenApiSchemaObject = { type: "integer", format: "int32" };
// uint32 exceeds int32's range, so it is described as a bounded int64 (as grpc-gateway does).
const UINT32: OpenApiSchemaObject = { type: "integer", format: "int64", minimum: 0, maximum: 4294967295 };
// protojson writes 64-bit integers as decimal strings: JavaScript numbers would lose precision.
const INT64: OpenApiSchemaObject = { type: "string", format: "int64", pattern: "^-?[0-9]+$" };
const UINT64: OpenApiSchemaObject = { type: "string", format: "uint64", pattern: "^[0-9]+$" };

/** Scalars in protojson. (Non-finite floats are written as "NaN"/"Infinity": not modelled.) */
const SCALARS: Readonly<Record<ScalarType, OpenApiSchemaObject>> = {
  [ScalarType.DOUBLE]: { type: "number", format: "double" },
  [ScalarType.FLOAT]: { type: "number", format: "float" },
  [ScalarType.INT64]: INT64,
  [ScalarType.SINT64]: INT64,
  [ScalarType.SFIXED64]: INT64,
  [ScalarType.UINT64]: UINT64,
  [ScalarType.FIXED64]: UINT64,
  [ScalarType.INT32]: INT32,
  [ScalarType.SINT32]: INT32,
  [ScalarType.SFIXED32]: INT32,
  [ScalarType.UINT32]: UINT32,
  [ScalarType.FIXED32]: UINT32,
  [ScalarType.BOOL]: { type: "boolean" },
  [ScalarType.STRING]: { type: "string" },
  [ScalarType.BYTES]: { type: "string", format: "byte" },
};

function scalarSchema(scalar: ScalarType): OpenApiSchemaObject {
  return SCALARS[scalar];
}

/** Well-known types whose JSON form is a scalar: they can travel in a query string. */
const SCALAR_WELL_KNOWN: ReadonlyMap<string, OpenApiSchemaObject> = new Map([
  ["google.protobuf.Timestamp", { type: "string", format: "date-time" }],
  ["google.protobuf.Duration", { type: "string", pattern: "^-?[0-9]+(?:\\.[0-9]{1,9})?s$" }],
  ["google.protobuf.FieldMask", { type: "string", description: "Comma-separated lowerCamel field paths." }],
  ["google.protobuf.DoubleValue", SCALARS[ScalarType.DOUBLE]],
  ["google.protobuf.FloatValue", SCALARS[ScalarType.FLOAT]],
  ["google.protobuf.Int64Value", INT64],
  ["google.protobuf.UInt64Value", UINT64],
  ["google.protobuf.Int32Value", INT32],
  ["google.protobuf.UInt32Value", UINT32],
  ["google.protobuf.BoolValue", SCALARS[ScalarType.BOOL]],
  ["google.protobuf.StringValue", SCALARS[ScalarType.STRING]],
  ["google.protobuf.BytesValue", SCALARS[ScalarType.BYTES]],
] satisfies [string, OpenApiSchemaObject][]);

/** Well-known types have their own JSON forms; they are inlined rather than given components. */
const WELL_KNOWN: ReadonlyMap<string, OpenApiSchemaObject> = new Map([
  ...SCALAR_WELL_KNOWN,
  ["google.protobuf.Struct", { type: "object", additionalProperties: true }],
  ["google.protobuf.Value", { description: "Any JSON value." }],
  ["google.protobuf.ListValue", { type: "array", items: {} }],
  ["google.protobuf.Empty", EMPTY_OBJECT],
  [
    "google.protobuf.Any",
    { type: "object", properties: { "@type": { type: "string" } }, required: ["@type"], additionalProperties: true },
  ],
] satisfies [string, OpenApiSchemaObject][]);

// ---------------------------------------------------------------------------
// Descriptor helpers.

/** The field a route names by dotted proto path; a name the input lacks is a proto error worth failing on. */
function fieldAt(route: Route, desc: DescMessage, path: string): DescField {
  let message: DescMessage | undefined = desc;
  let field: DescField | undefined;
  for (const name of path.split(".")) {
    field = message?.fields.find((candidate) => candidate.name === name);
    if (field === undefined) throw new Error(`${route.grpcPath}: ${desc.typeName} has no field "${path}"`);
    message = field.fieldKind === "message" ? field.message : undefined;
  }
  return field as DescField;
}

type Commented = DescService | DescMethod | DescMessage | DescField | DescEnum;

const commentIndexes = new WeakMap<DescFile, ReadonlyMap<string, string>>();

/** The leading (else trailing) comment of an element, from the image's source_code_info; undefined if none. */
function commentOf(desc: Commented): string | undefined {
  const path = sourcePath(desc);
  if (path.includes(-1)) return undefined;
  return commentIndex(fileOf(desc)).get(path.join("."));
}

function commentIndex(file: DescFile): ReadonlyMap<string, string> {
  let index = commentIndexes.get(file);
  if (index === undefined) {
    const entries = (file.proto.sourceCodeInfo?.location ?? []).map((location) => {
      const text = cleanComment(location.leadingComments || location.trailingComments || "");
      return [location.path.join("."), text] as const;
    });
    index = new Map(entries.filter(([, text]) => text !== ""));
    commentIndexes.set(file, index);
  }
  return index;
}

/** protoc keeps the space after "//": strip one per line, and surrounding blank lines. */
function cleanComment(raw: string): string {
  return raw
    .split("\n")
    .map((line) => line.replace(/^ /, "").trimEnd())
    .join("\n")
    .trim();
}

function fileOf(desc: Commented): DescFile {
  switch (desc.kind) {
    case "rpc":
    case "field":
      return desc.parent.file;
    default:
      return desc.file;
  }
}

/** The element's path in FileDescriptorProto field numbers, as source_code_info records it (-1: not found). */
function sourcePath(desc: Commented): number[] {
  switch (desc.kind) {
    case "service":
      return [6, desc.file.proto.service.indexOf(desc.proto)];
    case "rpc":
      return [...sourcePath(desc.parent), 2, desc.parent.proto.method.indexOf(desc.proto)];
    case "message":
      return desc.parent === undefined
        ? [4, desc.file.proto.messageType.indexOf(desc.proto)]
        : [...sourcePath(desc.parent), 3, desc.parent.proto.nestedType.indexOf(desc.proto)];
    case "field":
      return [...sourcePath(desc.parent), 2, desc.parent.proto.field.indexOf(desc.proto)];
    case "enum":
      return desc.parent === undefined
        ? [5, desc.file.proto.enumType.indexOf(desc.proto)]
        : [...sourcePath(desc.parent), 4, desc.parent.proto.enumType.indexOf(desc.proto)];
  }
}

/** A method comment's first paragraph is the summary (one line); the rest, if any, the description. */
function summaryAndDescription(comment: string | undefined): { summary?: string; description?: string } {
  if (comment === undefined) return {};
  const [first = "", ...rest] = comment.split(/\n\s*\n/);
  return { summary: first.replace(/\s*\n\s*/g, " "), ...optional("description", rest.length > 0 ? rest.join("\n\n") : undefined) };
}

/** `{ [key]: value }` when value is defined, else `{}`: optional properties under exactOptionalPropertyTypes. */
function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return value === undefined ? {} : ({ [key]: value } as { [P in K]: V });
}
