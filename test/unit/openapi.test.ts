import { createFileRegistry, fromBinary, type FileRegistry } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { Validator } from "@seriousme/openapi-schema-validator";
import { expect } from "chai";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { descriptorRegistry } from "../../src/transport/descriptors";
import {
  type OpenApiDocument,
  type OpenApiOperation,
  type OpenApiParameter,
  type OpenApiSchema,
  type OpenApiSchemaObject,
  type OpenApiVerb,
  openApiDocument,
} from "../../src/transport/http/openapi";
import { routesFromDescriptors } from "../../src/transport/http/routes";
import { TOKEN_REST_OPTIONS } from "../../src/transport/http/token-rest";
import { BUF, ROOT, run } from "../support/run";

async function validate(doc: unknown): Promise<{ valid: boolean; errors?: unknown }> {
  // A deep copy: the validator gets a plain JSON value, exactly what GET /openapi.json serves.
  return new Validator().validate(JSON.parse(JSON.stringify(doc)) as Record<string, unknown>);
}

function operation(doc: OpenApiDocument, path: string, verb: OpenApiVerb): OpenApiOperation {
  const op = doc.paths[path]?.[verb];
  if (op === undefined) throw new Error(`no ${verb.toUpperCase()} ${path} in ${JSON.stringify(Object.keys(doc.paths))}`);
  return op;
}

function component(doc: OpenApiDocument, key: string): OpenApiSchemaObject {
  const schema = doc.components.schemas[key];
  if (schema === undefined || "$ref" in schema) throw new Error(`no component ${key}`);
  return schema;
}

function property(schema: OpenApiSchemaObject, name: string): OpenApiSchema | undefined {
  return schema.properties?.[name];
}

function responseSchema(op: OpenApiOperation, status: string): OpenApiSchema | undefined {
  return op.responses[status]?.content?.["application/json"]?.schema;
}

function parameterNames(op: OpenApiOperation): string[] {
  return (op.parameters ?? []).map((p: OpenApiParameter) => `${p.in}:${p.name}`);
}

const ref = (key: string): OpenApiSchema => ({ $ref: `#/components/schemas/${key}` });

describe("OpenAPI document of the token service", () => {
  const routes = routesFromDescriptors(descriptorRegistry(), ["tokens.v1.TokenService"]);
  const doc = openApiDocument(routes, TOKEN_REST_OPTIONS);

  it("is a valid OpenAPI 3.0.3 document", async () => {
    expect(doc.openapi).to.equal("3.0.3");
    const result = await validate(doc);
    expect(result.errors, JSON.stringify(result.errors)).to.equal(undefined);
    expect(result.valid).to.equal(true);
  });

  it("declares GET /events as Server-Sent Events of KeyEvent, resumable with Last-Event-ID", () => {
    const watch = operation(doc, "/events", "get");
    expect(Object.keys(watch.responses["200"]?.content ?? {})).to.deep.equal(["text/event-stream"]);
    expect(watch.responses["200"]?.content?.["text/event-stream"]?.schema).to.deep.equal(ref("tokens.v1.KeyEvent"));
    expect(watch.parameters?.map((parameter) => `${parameter.in}:${parameter.name}`)).to.deep.equal(["query:startRevision", "header:Last-Event-ID"]);
  });

  it("the validator is real: a broken copy is reported invalid", async () => {
    const withoutInfo: Record<string, unknown> = JSON.parse(JSON.stringify(doc)) as Record<string, unknown>;
    delete withoutInfo["info"];
    expect((await validate(withoutInfo)).valid).to.equal(false);

    const danglingRef = JSON.parse(JSON.stringify(doc).replace("tokens.v1.GetResponse\"}", "tokens.v1.Nope\"}")) as unknown;
    expect((await validate(danglingRef)).valid).to.equal(false);

    const badSchema = JSON.parse(JSON.stringify(doc)) as { components: { schemas: Record<string, Record<string, unknown>> } };
    (badSchema.components.schemas["tokens.v1.GetResponse"] as Record<string, unknown>)["type"] = ["object", "null"];
    expect((await validate(badSchema)).valid).to.equal(false);
  });

  it("has the contract's nine operations, at its paths and methods", () => {
    const operations = Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.entries(item).map(([verb, op]) => `${verb.toUpperCase()} ${path} ${(op as OpenApiOperation).operationId}`),
    );
    expect(operations).to.have.members([
      "POST /keys TokenService_Create",
      "GET /keys TokenService_Acquire",
      "GET /keys/{key_id} TokenService_Get",
      "DELETE /keys/{key_id} TokenService_Delete",
      "PUT /keys/{key_id} TokenService_Release",
      "PUT /keepalive/{key_id} TokenService_KeepAlive",
      "GET /stats TokenService_Stats",
      "GET /keys:list TokenService_List",
      "GET /events TokenService_Watch",
    ]);
    expect(doc.tags.map((tag) => tag.name)).to.deep.equal(["TokenService"]);
  });

  it("documents each success status and body", () => {
    const create = operation(doc, "/keys", "post");
    expect(Object.keys(create.responses)).to.deep.equal(["201", "default"]);
    expect(responseSchema(create, "201")).to.deep.equal(ref("tokens.v1.CreateResponse"));
    expect(create.requestBody?.content["application/json"]?.schema).to.deep.equal(ref("tokens.v1.CreateRequest"));

    const acquire = operation(doc, "/keys", "get");
    expect(Object.keys(acquire.responses)).to.deep.equal(["200", "404", "default"]);
    expect(responseSchema(acquire, "200")).to.deep.equal(ref("tokens.v1.AcquireResponse"));
    expect(responseSchema(acquire, "404")).to.deep.equal({ type: "object", maxProperties: 0 });
    expect(acquire.requestBody).to.equal(undefined);

    expect(responseSchema(operation(doc, "/keys/{key_id}", "get"), "200")).to.deep.equal(ref("tokens.v1.GetResponse"));
    expect(responseSchema(operation(doc, "/keys/{key_id}", "delete"), "200")).to.deep.equal(ref("tokens.v1.DeleteResponse"));
    expect(responseSchema(operation(doc, "/keys/{key_id}", "put"), "200")).to.deep.equal(ref("tokens.v1.ReleaseResponse"));
    expect(responseSchema(operation(doc, "/keepalive/{key_id}", "put"), "200")).to.deep.equal(ref("tokens.v1.KeepAliveResponse"));
    for (const key of ["tokens.v1.DeleteResponse", "tokens.v1.ReleaseResponse"]) {
      expect(component(doc, key)).to.deep.equal({ type: "object", properties: {} });
    }
    for (const [key, fields] of [
      ["tokens.v1.CreateResponse", ["keyId", "expiresAt", "ttl"]],
      ["tokens.v1.AcquireResponse", ["keyId", "releaseAt", "lease"]],
    ] as const) {
      expect(property(component(doc, key), "keyId")).to.include({ type: "string" });
      expect(component(doc, key).required).to.deep.equal([...fields]);
    }
    // uint64, as protojson writes it: a string of digits.
    expect(property(component(doc, "tokens.v1.AcquireResponse"), "lease")).to.include({ type: "string" });
  });

  it("makes key_id a required string path parameter; the lease fields and durations are query parameters", () => {
    for (const [path, verb, query] of [
      ["/keys/{key_id}", "get", []],
      ["/keys/{key_id}", "delete", []],
      ["/keys/{key_id}", "put", ["query:lease", "query:cooldown"]],
      ["/keepalive/{key_id}", "put", ["query:lease"]],
    ] as const) {
      const parameters = operation(doc, path, verb).parameters ?? [];
      expect(parameterNames(operation(doc, path, verb)), `${verb} ${path}`).to.deep.equal(["path:key_id", ...query]);
      expect(parameters[0]).to.deep.include({ name: "key_id", in: "path", required: true, schema: { type: "string" } });
    }
    expect(parameterNames(operation(doc, "/keys", "get"))).to.deep.equal(["query:blockTtl", "query:wait"]);
    expect(operation(doc, "/keys", "post").parameters).to.equal(undefined);
    expect(parameterNames(operation(doc, "/keys:list", "get"))).to.deep.equal(["query:pageSize", "query:pageToken", "query:state"]);
  });

  it("describes GetResponse as the gateway writes it: every field present, unset timestamps null", () => {
    const get = component(doc, "tokens.v1.GetResponse");
    expect(get.type).to.equal("object");
    expect(property(get, "isBlocked")).to.deep.include({ type: "boolean" });
    for (const name of ["blockedAt", "createdAt", "expiresAt", "releaseAt"]) {
      expect(property(get, name), name).to.include({ type: "string", format: "date-time", nullable: true });
    }
    expect(get.required).to.have.members(["isBlocked", "blockedAt", "createdAt", "expiresAt", "releaseAt", "state", "ttl", "lease"]);
    expect(Object.keys(get.properties ?? {})).to.have.members(get.required ?? []);
    expect(component(doc, "tokens.v1.KeepAliveResponse").required).to.deep.equal(["expiresAt", "releaseAt"]);
    // Enums as protojson writes them (names); the lease is optional: null while not leased.
    expect(property(get, "state")).to.deep.equal(ref("tokens.v1.KeyState"));
    expect(component(doc, "tokens.v1.KeyState").enum).to.include.members(["AVAILABLE", "LEASED", "COOLING"]);
    expect(property(get, "lease")).to.include({ type: "string", nullable: true });
  });

  it("sends every error to the Status schema", () => {
    for (const item of Object.values(doc.paths)) {
      for (const op of Object.values(item) as OpenApiOperation[]) {
        expect(responseSchema(op, "default"), op.operationId).to.deep.equal(ref("Status"));
      }
    }
    const status = component(doc, "Status");
    expect(status.type).to.equal("object");
    expect(property(status, "code")).to.include({ type: "integer", format: "int32" });
    expect(property(status, "message")).to.include({ type: "string" });
    expect(property(status, "details")).to.deep.include({ type: "array" });
    expect((property(status, "details") as OpenApiSchemaObject).items).to.include({ type: "object" });
    expect(status.required).to.have.members(["code", "message", "details"]);
  });

  it("carries the proto comments as summaries and descriptions", () => {
    expect(operation(doc, "/keys", "post").summary).to.equal("Create makes a new available key.");
    expect(operation(doc, "/keys/{key_id}", "get").parameters?.[0]?.description).to.equal(
      "1 to 128 characters; anything else is INVALID_ARGUMENT.",
    );
    expect(property(component(doc, "tokens.v1.GetResponse"), "expiresAt")).to.include({
      description: "When the key is deleted unless kept alive.",
    });
    expect(doc.tags[0]?.description).to.match(/^TokenService creates, hands out and expires/);
  });

  it("takes info from its argument, with defaults", () => {
    expect(doc.info).to.include({ title: "Token Orchestrator", version: "1.0.0" });
    const custom = openApiDocument(routes, TOKEN_REST_OPTIONS, { title: "Keys", version: "2.3.4", description: "d" });
    expect(custom.info).to.deep.equal({ title: "Keys", version: "2.3.4", description: "d" });
  });

  it("uses component keys OpenAPI allows, and every $ref resolves", () => {
    for (const key of Object.keys(doc.components.schemas)) expect(key).to.match(/^[a-zA-Z0-9.\-_]+$/);
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)].map((m) => m[1] as string);
    expect(refs).to.not.be.empty;
    for (const key of refs) expect(doc.components.schemas, key).to.have.property(key);
  });
});

/**
 * The generator works from any descriptors, not just today's six RPCs: a richer
 * service, compiled by buf into a temporary image, exercises additional_bindings,
 * multi-segment variables, body fields, response_body, query parameters, oneofs,
 * maps, enums, 64-bit integers, recursion and well-known types.
 */
const LIBRARY_PROTO = `
syntax = "proto3";
package library.v1;

import "google/api/annotations.proto";
import "google/protobuf/duration.proto";
import "google/protobuf/empty.proto";
import "google/protobuf/struct.proto";
import "google/protobuf/timestamp.proto";
import "google/protobuf/wrappers.proto";

service Library {
  // GetBook reads one book.
  //
  // By full name or by short name.
  rpc GetBook(GetBookRequest) returns (Book) {
    option (google.api.http) = {
      get: "/v1/{name=shelves/*/books/*}"
      additional_bindings { get: "/v1/books/{name}" }
    };
  }
  rpc UpdateBook(UpdateBookRequest) returns (Book) {
    option (google.api.http) = { patch: "/v1/{book.name=shelves/*/books/*}" body: "book" };
  }
  rpc CreateBook(CreateBookRequest) returns (Book) {
    option (google.api.http) = { post: "/v1/shelves/{shelf}/books" body: "*" };
  }
  rpc ListBooks(ListBooksRequest) returns (ListBooksResponse) {
    option (google.api.http) = { get: "/v1/shelves/{shelf}/books" response_body: "books" };
  }
  rpc ArchiveShelf(ArchiveShelfRequest) returns (google.protobuf.Empty) {
    option (google.api.http) = { post: "/v1/shelves/{shelf}:archive" body: "*" };
  }
}

enum Genre {
  GENRE_UNSPECIFIED = 0;
  GENRE_FICTION = 1;
}

message Book {
  string name = 1;
  int64 pages = 2;
  uint32 edition = 3;
  Genre genre = 4;
  repeated string tags = 5;
  map<string, int32> ratings = 6;
  google.protobuf.Timestamp published = 7;
  Book sequel = 8;
  oneof source {
    string isbn = 9;
    Author author = 10;
  }
  optional double price = 11;
  google.protobuf.StringValue subtitle = 12;
  repeated Author coauthors = 13;
  bytes cover = 14;
}

message Author {
  string name = 1;
  google.protobuf.Struct extra = 2;
}

message GetBookRequest { string name = 1; }
message UpdateBookRequest {
  Book book = 1;
  bool validate_only = 2;
}
message CreateBookRequest {
  string shelf = 1;
  Book book = 2;
  string request_id = 3;
}
message ListBooksRequest {
  string shelf = 1;
  int32 page_size = 2;
  repeated Genre genres = 3;
  google.protobuf.Duration max_age = 4;
  Author filter = 5;
  map<string, string> labels = 6;
}
message ListBooksResponse {
  repeated Book books = 1;
  string next_page_token = 2;
}
message ArchiveShelfRequest { string shelf = 1; }
`;

async function compileLibrary(): Promise<FileRegistry> {
  const dir = mkdtempSync(join(tmpdir(), "openapi-proto-"));
  try {
    mkdirSync(join(dir, "google", "api"), { recursive: true });
    mkdirSync(join(dir, "library", "v1"), { recursive: true });
    for (const name of ["annotations.proto", "http.proto"]) {
      copyFileSync(join(ROOT, "third_party", "google", "api", name), join(dir, "google", "api", name));
    }
    writeFileSync(join(dir, "buf.yaml"), "version: v2\n");
    writeFileSync(join(dir, "library", "v1", "library.proto"), LIBRARY_PROTO);
    const out = join(dir, "image.binpb");
    const result = await run(BUF, ["build", "--output", out], { cwd: dir });
    expect(result.code, result.stderr).to.equal(0);
    return createFileRegistry(fromBinary(FileDescriptorSetSchema, readFileSync(out)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("OpenAPI document of an arbitrary service", function () {
  this.timeout(60_000);
  let doc: OpenApiDocument;

  before(async () => {
    const registry = await compileLibrary();
    doc = openApiDocument(routesFromDescriptors(registry, ["library.v1.Library"]), {}, { title: "Library", version: "1" });
  });

  it("is valid", async () => {
    const result = await validate(doc);
    expect(result.errors, JSON.stringify(result.errors)).to.equal(undefined);
    expect(result.valid).to.equal(true);
  });

  it("gives additional_bindings their own paths and unique operation ids", () => {
    const byPattern = operation(doc, "/v1/{name}", "get");
    const byName = operation(doc, "/v1/books/{name}", "get");
    expect([byPattern.operationId, byName.operationId]).to.deep.equal(["Library_GetBook", "Library_GetBook_1"]);
    expect(byPattern.parameters).to.deep.equal([
      {
        name: "name",
        in: "path",
        required: true,
        schema: { type: "string", pattern: "^shelves/[^/]+/books/[^/]+$" },
        description: 'Spans several path segments: send its "/" unescaped.',
      },
    ]);
    expect(byName.parameters).to.deep.equal([{ name: "name", in: "path", required: true, schema: { type: "string" } }]);
    expect(byPattern).to.include({ summary: "GetBook reads one book.", description: "By full name or by short name." });
    expect(responseSchema(byPattern, "200")).to.deep.equal(ref("library.v1.Book"));
  });

  it("binds a body field, a dotted path variable and the remaining query parameters", () => {
    const update = operation(doc, "/v1/{book.name}", "patch");
    expect(parameterNames(update)).to.deep.equal(["path:book.name", "query:validateOnly"]);
    expect(update.parameters?.[1]?.schema).to.deep.equal({ type: "boolean" });
    // Book is also a response, so its request form (nothing required) has its own key.
    expect(update.requestBody?.content["application/json"]?.schema).to.deep.equal(ref("library.v1.Book-Input"));
    expect(component(doc, "library.v1.Book-Input").required).to.equal(undefined);
  });

  it("leaves path-bound fields out of a '*' body, and takes no query parameters then", () => {
    const create = operation(doc, "/v1/shelves/{shelf}/books", "post");
    expect(parameterNames(create)).to.deep.equal(["path:shelf"]);
    const body = create.requestBody?.content["application/json"]?.schema as OpenApiSchemaObject;
    expect(Object.keys(body.properties ?? {})).to.deep.equal(["book", "requestId"]);
    expect(body.required).to.equal(undefined);
  });

  it("offers scalar, enum, repeated and scalar well-known fields as query parameters, and honours response_body", () => {
    const list = operation(doc, "/v1/shelves/{shelf}/books", "get");
    expect(parameterNames(list)).to.deep.equal(["path:shelf", "query:pageSize", "query:genres", "query:maxAge"]);
    const [, pageSize, genres, maxAge] = list.parameters ?? [];
    expect(pageSize?.schema).to.deep.equal({ type: "integer", format: "int32" });
    expect(genres?.schema).to.deep.equal({ type: "array", items: ref("library.v1.Genre") });
    expect(maxAge?.schema).to.include({ type: "string" });
    expect(responseSchema(list, "200")).to.deep.equal({ type: "array", items: ref("library.v1.Book") });
  });

  it("keeps a verb in the path and writes google.protobuf.Empty as an empty object", () => {
    const archive = operation(doc, "/v1/shelves/{shelf}:archive", "post");
    expect(responseSchema(archive, "200")).to.deep.equal({ type: "object", maxProperties: 0 });
  });

  it("maps every field kind as protojson writes it", () => {
    const book = component(doc, "library.v1.Book");
    const p = (name: string): OpenApiSchema | undefined => property(book, name);
    expect(p("name")).to.deep.equal({ type: "string" });
    expect(p("pages")).to.include({ type: "string", format: "int64" });
    expect(p("edition")).to.include({ type: "integer", minimum: 0 });
    expect(p("genre")).to.deep.equal(ref("library.v1.Genre"));
    expect(p("tags")).to.deep.equal({ type: "array", items: { type: "string" } });
    expect(p("ratings")).to.deep.equal({ type: "object", additionalProperties: { type: "integer", format: "int32" } });
    expect(p("published")).to.deep.equal({ type: "string", format: "date-time", nullable: true });
    expect(p("sequel")).to.deep.equal({ allOf: [ref("library.v1.Book")], nullable: true });
    expect(p("isbn")).to.deep.equal({ type: "string" });
    expect(p("author")).to.deep.equal(ref("library.v1.Author"));
    expect(p("price")).to.deep.equal({ type: "number", format: "double", nullable: true });
    expect(p("subtitle")).to.deep.equal({ type: "string", nullable: true });
    expect(p("coauthors")).to.deep.equal({ type: "array", items: ref("library.v1.Author") });
    expect(p("cover")).to.deep.equal({ type: "string", format: "byte" });
    // Unset oneof members are absent; everything else is always written.
    expect(book.required).to.have.members(Object.keys(book.properties ?? {}).filter((name) => name !== "isbn" && name !== "author"));
    expect(component(doc, "library.v1.Genre")).to.deep.equal({ type: "string", enum: ["GENRE_UNSPECIFIED", "GENRE_FICTION"] });
    expect(property(component(doc, "library.v1.Author"), "extra")).to.deep.equal({
      type: "object",
      additionalProperties: true,
      nullable: true,
    });
  });
});
