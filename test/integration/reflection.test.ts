import { execFile } from "node:child_process";
import { resolve } from "node:path";
import { promisify } from "node:util";
import * as grpc from "@grpc/grpc-js";
import { createFileRegistry, fromBinary, getExtension } from "@bufbuild/protobuf";
import {
  FileDescriptorProtoSchema,
  type FileDescriptorProto,
} from "@bufbuild/protobuf/wkt";
import { expect } from "chai";
import { HealthImplementation } from "grpc-health-check";
import {
  ServerReflectionClient,
  type ServerReflectionRequest,
  type ServerReflectionResponse,
  ServerReflectionService,
} from "../../clients/generated/grpc/reflection/v1/reflection";
import { KeyState, TokenServiceService, type TokenServiceServer } from "../../clients/generated/tokens/v1/tokens";
import { descriptorSet } from "../../src/transport/descriptors";
import { addReflection } from "../../src/transport/grpc/reflection";

const SERVICES = [
  "tokens.v1.TokenService",
  "grpc.health.v1.Health",
  "grpc.reflection.v1.ServerReflection",
  "grpc.reflection.v1alpha.ServerReflection",
] as const;

const GOOGLE_API_HTTP = 72295728;
const CREATED_AT = new Date("2024-01-02T03:04:05Z");
const EXPIRES_AT = new Date("2024-01-02T03:09:05Z");
const FIXED_KEY_ID = "fixed-key-id";

const BUF = resolve(__dirname, "../../node_modules/.bin/buf");
const execFileAsync = promisify(execFile);

/** Fixed answers: these tests are about the schema clients discover, not key handling. */
const stubTokenService: TokenServiceServer = {
  create: (_call, callback) => callback(null, { keyId: FIXED_KEY_ID, expiresAt: EXPIRES_AT, ttl: { seconds: 300, nanos: 0 } }),
  acquire: (_call, callback) => callback(null, { keyId: FIXED_KEY_ID, releaseAt: EXPIRES_AT, lease: 1 }),
  get: (_call, callback) =>
    callback(null, {
      isBlocked: false,
      blockedAt: undefined,
      createdAt: CREATED_AT,
      expiresAt: EXPIRES_AT,
      releaseAt: undefined,
      state: KeyState.AVAILABLE,
      ttl: { seconds: 300, nanos: 0 },
    }),
  delete: (_call, callback) => callback(null, {}),
  release: (_call, callback) => callback(null, {}),
  keepAlive: (_call, callback) => callback(null, { expiresAt: EXPIRES_AT, releaseAt: undefined }),
  stats: (_call, callback) => callback(null, { total: 0, available: 0, leased: 0, cooling: 0 }),
  list: (_call, callback) => callback(null, { keys: [], nextPageToken: "" }),
  keepAliveStream: (call) => call.end(),
  watch: (call) => call.end(),
};

function startServer(): Promise<{ server: grpc.Server; port: number }> {
  const server = new grpc.Server();
  server.addService(TokenServiceService, stubTokenService);
  new HealthImplementation({ "": "SERVING", "tokens.v1.TokenService": "SERVING" }).addToServer(server);
  addReflection(server, descriptorSet(), SERVICES);
  return new Promise((resolvePort, reject) => {
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, port) =>
      error ? reject(error) : resolvePort({ server, port }),
    );
  });
}

/** Sends every request on one stream, half-closes, and collects the responses until the server ends. */
function exchange(
  stream: grpc.ClientDuplexStream<ServerReflectionRequest, ServerReflectionResponse>,
  requests: readonly Partial<ServerReflectionRequest>[],
): Promise<ServerReflectionResponse[]> {
  return new Promise((resolveResponses, reject) => {
    const responses: ServerReflectionResponse[] = [];
    stream.on("data", (response: ServerReflectionResponse) => responses.push(response));
    stream.on("error", reject);
    stream.on("end", () => resolveResponses(responses));
    for (const request of requests) {
      stream.write({ host: "", ...request });
    }
    stream.end();
  });
}

function decodeFiles(response: ServerReflectionResponse | undefined): FileDescriptorProto[] {
  const files = response?.fileDescriptorResponse?.fileDescriptorProto;
  expect(files, "file_descriptor_response").to.be.an("array");
  return (files ?? []).map((bytes) => fromBinary(FileDescriptorProtoSchema, bytes));
}

describe("gRPC server reflection (integration)", () => {
  let server: grpc.Server;
  let port: number;
  let client: ServerReflectionClient;

  before(async () => {
    ({ server, port } = await startServer());
    client = new ServerReflectionClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  });

  after(() => {
    client.close();
    server.forceShutdown();
  });

  async function reflectV1(request: Partial<ServerReflectionRequest>): Promise<ServerReflectionResponse> {
    const [response] = await exchange(client.serverReflectionInfo(), [request]);
    expect(response, "one response").to.not.equal(undefined);
    return response as ServerReflectionResponse;
  }

  describe("with the ts-proto v1 client", () => {
    it("lists the configured services", async () => {
      const response = await reflectV1({ listServices: "" });
      expect(response.listServicesResponse?.service.map((s) => s.name)).to.deep.equal([...SERVICES]);
    });

    it("answers file_containing_symbol with the file and all its transitive imports", async () => {
      const files = decodeFiles(await reflectV1({ fileContainingSymbol: "tokens.v1.TokenService" }));
      expect(files.map((f) => f.name)).to.have.members([
        "tokens/v1/tokens.proto",
        "tokens/v1/access.proto",
        "google/api/annotations.proto",
        "google/api/http.proto",
        "google/protobuf/descriptor.proto",
        "google/protobuf/duration.proto",
        "google/protobuf/timestamp.proto",
      ]);
      expect(files[0]?.name, "requested file first").to.equal("tokens/v1/tokens.proto");
    });

    it("keeps the google.api.http option on methods (unknown fields survive)", async () => {
      const files = decodeFiles(await reflectV1({ fileContainingSymbol: "tokens.v1.TokenService.Get" }));
      const get = files[0]?.service[0]?.method.find((m) => m.name === "Get");
      const raw = get?.options?.$unknown?.find((field) => field.no === GOOGLE_API_HTTP);
      expect(raw, "raw extension bytes").to.not.equal(undefined);
      expect(Buffer.from(raw?.data ?? []).toString("latin1")).to.contain("/keys/{key_id}");

      // And it decodes as a real HttpRule against the served files alone.
      const [tokens] = files;
      expect(tokens).to.not.equal(undefined);
      const registry = createFileRegistry(tokens as FileDescriptorProto, (name) => files.find((f) => f.name === name));
      const httpExtension = registry.getExtension("google.api.http");
      expect(httpExtension).to.not.equal(undefined);
      if (get?.options !== undefined && httpExtension !== undefined) {
        const rule = getExtension(get.options, httpExtension);
        expect(rule).to.deep.include({ pattern: { case: "get", value: "/keys/{key_id}" } });
      }
    });

    it("drops buf's private image metadata (field 8042) from served files", async () => {
      const [tokens] = decodeFiles(await reflectV1({ fileByFilename: "tokens/v1/tokens.proto" }));
      expect(tokens?.$unknown ?? []).to.deep.equal([]);
    });

    it("finds nested types, enums, methods and extensions", async () => {
      const cases: readonly [string, string][] = [
        ["google.protobuf.FieldDescriptorProto.Type", "google/protobuf/descriptor.proto"],
        ["google.protobuf.DescriptorProto.ExtensionRange", "google/protobuf/descriptor.proto"],
        ["grpc.health.v1.HealthCheckResponse.ServingStatus", "grpc/health/v1/health.proto"],
        ["grpc.health.v1.Health.Check", "grpc/health/v1/health.proto"],
        ["google.api.http", "google/api/annotations.proto"],
        ["google.protobuf.Timestamp", "google/protobuf/timestamp.proto"],
      ];
      for (const [symbol, file] of cases) {
        const files = decodeFiles(await reflectV1({ fileContainingSymbol: symbol }));
        expect(files[0]?.name, symbol).to.equal(file);
      }
    });

    it("answers file_containing_extension and all_extension_numbers_of_type", async () => {
      const files = decodeFiles(
        await reflectV1({
          fileContainingExtension: { containingType: "google.protobuf.MethodOptions", extensionNumber: GOOGLE_API_HTTP },
        }),
      );
      expect(files.map((f) => f.name)).to.deep.equal([
        "google/api/annotations.proto",
        "google/api/http.proto",
        "google/protobuf/descriptor.proto",
      ]);

      const numbers = await reflectV1({ allExtensionNumbersOfType: "google.protobuf.MethodOptions" });
      expect(numbers.allExtensionNumbersResponse?.baseTypeName).to.equal("google.protobuf.MethodOptions");
      // google.api.http and the access table's tokens.v1.required_role, in either order.
      expect(numbers.allExtensionNumbersResponse?.extensionNumber).to.have.members([GOOGLE_API_HTTP, 50501]);
      const none = await reflectV1({ allExtensionNumbersOfType: "tokens.v1.GetRequest" });
      expect(none.allExtensionNumbersResponse?.extensionNumber).to.deep.equal([]);
    });

    it("reports unknown symbols, files and extensions as NOT_FOUND", async () => {
      const requests: Partial<ServerReflectionRequest>[] = [
        { fileContainingSymbol: "tokens.v1.NoSuchThing" },
        { fileByFilename: "nope.proto" },
        { fileContainingExtension: { containingType: "google.protobuf.MethodOptions", extensionNumber: 1 } },
        { allExtensionNumbersOfType: "tokens.v1.NoSuchMessage" },
      ];
      for (const request of requests) {
        const response = await reflectV1(request);
        expect(response.errorResponse?.errorCode, JSON.stringify(request)).to.equal(grpc.status.NOT_FOUND);
        expect(response.errorResponse?.errorMessage).to.match(/not found/);
      }
      // The message quotes nothing the caller sent; the response echoes the request beside it.
      const symbol = await reflectV1({ fileContainingSymbol: "tokens.v1.NoSuchThing" });
      expect(symbol.errorResponse?.errorMessage).to.equal("symbol not found");
      expect(symbol.originalRequest?.fileContainingSymbol).to.equal("tokens.v1.NoSuchThing");
    });

    it("rejects a request without message_request as INVALID_ARGUMENT", async () => {
      const response = await reflectV1({});
      expect(response.errorResponse?.errorCode).to.equal(grpc.status.INVALID_ARGUMENT);
    });

    it("answers several requests on one stream in order, echoing host and request", async () => {
      const requests: Partial<ServerReflectionRequest>[] = [
        { host: "example.test", listServices: "*" },
        { host: "example.test", fileContainingSymbol: "nope.Nope" },
        { host: "example.test", fileByFilename: "google/protobuf/timestamp.proto" },
      ];
      const responses = await exchange(client.serverReflectionInfo(), requests);
      expect(responses).to.have.length(3);
      responses.forEach((response, i) => {
        expect(response.validHost).to.equal("example.test");
        expect(response.originalRequest).to.deep.include(requests[i]);
      });
      expect(responses[2]?.fileDescriptorResponse?.fileDescriptorProto).to.have.length(1);
    });

    it("survives a client cancelling mid-stream", async () => {
      const stream = client.serverReflectionInfo();
      stream.on("error", () => undefined);
      stream.write({ host: "", fileContainingSymbol: "tokens.v1.TokenService" });
      stream.cancel();
      const response = await reflectV1({ listServices: "" });
      expect(response.listServicesResponse?.service).to.have.length(SERVICES.length);
    });

    it("fails only the stream that sends undecodable bytes", async () => {
      const method = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo";
      const identity = (bytes: Buffer): Buffer => bytes;
      const stream = client.makeBidiStreamRequest(method, identity, identity);
      const status = await new Promise<grpc.StatusObject>((resolveStatus) => {
        stream.on("error", () => undefined);
        stream.on("data", () => undefined);
        stream.on("status", resolveStatus);
        stream.write(Buffer.from([0xff, 0xff, 0xff]));
        stream.end();
      });
      // An unparsable message is INTERNAL, as the gRPC spec's status table and grpc-go say.
      expect(status.code).to.equal(grpc.status.INTERNAL);
      const response = await reflectV1({ listServices: "" });
      expect(response.listServicesResponse?.service).to.have.length(SERVICES.length);
    });
  });

  describe("v1alpha", () => {
    it("serves the same answers under grpc.reflection.v1alpha", async () => {
      // v1alpha has the v1 messages on the wire; only the path differs.
      const v1 = ServerReflectionService.serverReflectionInfo;
      const path = "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo";
      const stream = client.makeBidiStreamRequest(path, v1.requestSerialize, v1.responseDeserialize);
      const [list, file] = await exchange(stream, [
        { listServices: "" },
        { fileContainingSymbol: "tokens.v1.TokenService" },
      ]);
      expect(list?.listServicesResponse?.service.map((s) => s.name)).to.deep.equal([...SERVICES]);
      expect(decodeFiles(file)[0]?.name).to.equal("tokens/v1/tokens.proto");
    });
  });

  describe("addReflection", () => {
    it("refuses a service name that is not in the descriptor set", () => {
      expect(() => addReflection(new grpc.Server(), descriptorSet(), ["tokens.v1.Missing"])).to.throw(
        /tokens\.v1\.Missing/,
      );
    });
  });

  describe("with buf curl (a Go reflection client)", () => {
    async function bufCurl(...args: string[]): Promise<string> {
      const { stdout } = await execFileAsync(BUF, ["curl", "--protocol", "grpc", "--http2-prior-knowledge", ...args], {
        timeout: 15_000,
      });
      return stdout;
    }

    const base = (): string => `http://127.0.0.1:${port}`;

    it("lists services", async () => {
      const lines = (await bufCurl("--list-services", base())).trim().split("\n");
      expect(lines).to.have.members([...SERVICES]);
    });

    it("lists methods (resolving every service's files)", async () => {
      const out = await bufCurl("--list-methods", base());
      expect(out).to.contain("tokens.v1.TokenService/Get");
      expect(out).to.contain("tokens.v1.TokenService/KeepAlive");
      expect(out).to.contain("grpc.health.v1.Health/Check");
      expect(out).to.contain("grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo");
    });

    it("calls TokenService/Get and prints the timestamps as JSON", async () => {
      const out = await bufCurl(`${base()}/tokens.v1.TokenService/Get`, "-d", '{"keyId":"abc"}');
      expect(JSON.parse(out)).to.deep.equal({
        createdAt: "2024-01-02T03:04:05Z",
        expiresAt: "2024-01-02T03:09:05Z",
        state: "AVAILABLE",
        ttl: "300s",
      });
    });

    it("calls TokenService/Create", async () => {
      const out = await bufCurl(`${base()}/tokens.v1.TokenService/Create`, "-d", "{}");
      expect(JSON.parse(out)).to.deep.equal({ keyId: FIXED_KEY_ID, expiresAt: "2024-01-02T03:09:05Z", ttl: "300s" });
    });

    it("calls grpc.health.v1.Health/Check", async () => {
      const out = await bufCurl(`${base()}/grpc.health.v1.Health/Check`, "-d", "{}");
      expect(JSON.parse(out)).to.deep.equal({ status: "SERVING" });
    });

    it("falls back to v1alpha when asked to", async () => {
      const out = await bufCurl("--reflect-protocol", "grpc-v1alpha", "--list-methods", base());
      expect(out).to.contain("tokens.v1.TokenService/Get");
    });
  });
});
