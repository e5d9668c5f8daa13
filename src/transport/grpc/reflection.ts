import * as grpc from "@grpc/grpc-js";
import { create, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import {
  FileDescriptorProtoSchema,
  type DescriptorProto,
  type EnumDescriptorProto,
  type FieldDescriptorProto,
  type FileDescriptorProto,
  type FileDescriptorSet,
} from "@bufbuild/protobuf/wkt";
import {
  ServerReflection,
  type ServerReflectionRequest,
  type ServerReflectionResponse,
  ServerReflectionResponseSchema,
} from "../../generated/grpc/reflection/v1/reflection_pb";
import { deserializer, serializer } from "./adapter";

// gRPC server reflection (grpc.reflection.v1 and v1alpha) served straight from the compiled
// descriptors. @grpc/reflection rebuilds descriptors from protobufjs and gets map entries,
// well-known types and cross-file imports wrong, which breaks Go clients (grpcurl, buf curl);
// serving the bytes buf compiled sidesteps all of that.

/**
 * One bidirectional method under the v1 path or the v1alpha one: the messages are the
 * same on the wire (only the package differs), so v1alpha reuses the v1 schemas.
 * Older clients only speak v1alpha; grpcurl and buf curl fall back to it when v1 is missing.
 */
function reflectionDefinition(pkg: "grpc.reflection.v1" | "grpc.reflection.v1alpha"): grpc.ServiceDefinition {
  const method = ServerReflection.method.serverReflectionInfo;
  return {
    serverReflectionInfo: {
      path: `/${pkg}.ServerReflection/ServerReflectionInfo`,
      originalName: "serverReflectionInfo",
      requestStream: true,
      responseStream: true,
      requestSerialize: serializer(method.input),
      requestDeserialize: deserializer(method.input),
      responseSerialize: serializer(method.output),
      responseDeserialize: deserializer(method.output),
    },
  };
}

/**
 * Registers grpc.reflection.v1.ServerReflection and grpc.reflection.v1alpha.ServerReflection.
 *
 * `files` must hold every file the services need, imports included (a `buf build` image);
 * `serviceNames` is what list_services reports, so include the reflection services themselves
 * if clients should see them. Throws at startup when a dependency or a listed service is
 * missing from `files`, rather than failing a client later.
 */
export function addReflection(server: grpc.Server, files: FileDescriptorSet, serviceNames: readonly string[]): void {
  const index = new ReflectionIndex(files);
  for (const name of serviceNames) {
    if (index.kindOf(name) !== "service") {
      throw new Error(`reflection: service ${name} is not declared in the descriptor set`);
    }
  }
  // Copied so a caller mutating its array later cannot change what list_services reports.
  const handler = reflectionHandler(index, [...serviceNames]);
  server.addService(reflectionDefinition("grpc.reflection.v1"), { serverReflectionInfo: handler });
  server.addService(reflectionDefinition("grpc.reflection.v1alpha"), { serverReflectionInfo: handler });
}

type SymbolKind = "service" | "method" | "message" | "enum" | "extension";

interface Declaration {
  readonly name: string;
  readonly kind: SymbolKind;
  /** Set for extensions, whose extendee and number are indexed too. */
  readonly field?: FieldDescriptorProto;
}

interface SymbolEntry {
  readonly file: string;
  readonly kind: SymbolKind;
}

/**
 * buf images tag every FileDescriptorProto with buf-private metadata (field 8042,
 * buf.alpha.image.v1.ImageFileExtension: is_import, module info). It is not part of
 * descriptor.proto, so it is dropped to serve what protoc would; every other unknown field
 * (custom options live inside the *Options messages) is kept.
 */
const BUF_IMAGE_FILE_EXTENSION = 8042;

/** Lookups over one descriptor set, built once per server. */
class ReflectionIndex {
  private readonly files = new Map<string, FileDescriptorProto>();
  private readonly symbols = new Map<string, SymbolEntry>();
  /** extendee full name → extension number → declaring file. */
  private readonly extensions = new Map<string, Map<number, string>>();
  private readonly serialized = new Map<string, Buffer>();

  constructor(set: FileDescriptorSet) {
    for (const file of set.file) {
      this.files.set(file.name, file);
    }
    for (const file of set.file) {
      this.checkDependencies(file);
      for (const declaration of declarations(file)) {
        this.addDeclaration(file.name, declaration);
      }
    }
  }

  kindOf(symbol: string): SymbolKind | undefined {
    return this.symbols.get(symbol)?.kind;
  }

  fileOfSymbol(symbol: string): string | undefined {
    return this.symbols.get(symbol)?.file;
  }

  fileOfExtension(extendee: string, number: number): string | undefined {
    return this.extensions.get(extendee)?.get(number);
  }

  /** Extension numbers of a message, or undefined when no such message is declared. */
  extensionNumbers(extendee: string): number[] | undefined {
    if (this.kindOf(extendee) !== "message") {
      return undefined;
    }
    return [...(this.extensions.get(extendee)?.keys() ?? [])];
  }

  /**
   * The serialized file first, then each transitive dependency once. Sending the whole
   * closure every time (the spec allows skipping files already sent on the stream) keeps the
   * handler stateless; clients de-duplicate by file name.
   */
  fileWithDependencies(name: string): Buffer[] | undefined {
    if (!this.files.has(name)) {
      return undefined;
    }
    return this.dependencyClosure(name).map((fileName) => this.serializedFile(fileName));
  }

  /** Depth-first from `root`; a Set keeps first-visit order and stops at import cycles. */
  private dependencyClosure(root: string): string[] {
    const seen = new Set<string>();
    const visit = (name: string): void => {
      if (seen.has(name)) {
        return;
      }
      seen.add(name);
      for (const dependency of this.files.get(name)?.dependency ?? []) {
        visit(dependency);
      }
    };
    visit(root);
    return [...seen];
  }

  /** Serialized lazily, once per file: most servers only ever get asked for a few files. */
  private serializedFile(name: string): Buffer {
    const cached = this.serialized.get(name);
    if (cached !== undefined) {
      return cached;
    }
    const file = this.files.get(name);
    if (file === undefined) {
      throw new Error(`reflection: file ${name} is not in the descriptor set`);
    }
    const binary = toBinary(FileDescriptorProtoSchema, withoutBufMetadata(file));
    const bytes = Buffer.from(binary.buffer, binary.byteOffset, binary.byteLength);
    this.serialized.set(name, bytes);
    return bytes;
  }

  private checkDependencies(file: FileDescriptorProto): void {
    for (const dependency of file.dependency) {
      if (!this.files.has(dependency)) {
        throw new Error(`reflection: ${file.name} imports ${dependency}, which is not in the descriptor set`);
      }
    }
  }

  private addDeclaration(file: string, { name, kind, field }: Declaration): void {
    if (this.symbols.has(name)) {
      throw new Error(`reflection: ${name} is declared twice (in ${this.symbols.get(name)?.file} and ${file})`);
    }
    this.symbols.set(name, { file, kind });
    if (field !== undefined) {
      const extendee = stripLeadingDot(field.extendee);
      const byNumber = this.extensions.get(extendee) ?? new Map<number, string>();
      byNumber.set(field.number, file);
      this.extensions.set(extendee, byNumber);
    }
  }
}

function withoutBufMetadata(file: FileDescriptorProto): FileDescriptorProto {
  const unknown = file.$unknown?.filter((field) => field.no !== BUF_IMAGE_FILE_EXTENSION);
  return { ...file, $unknown: unknown };
}

/** Every symbol file_containing_symbol can find: services, methods, messages, enums, extensions. */
function* declarations(file: FileDescriptorProto): Generator<Declaration> {
  for (const service of file.service) {
    const serviceName = qualify(file.package, service.name);
    yield { name: serviceName, kind: "service" };
    for (const method of service.method) {
      yield { name: qualify(serviceName, method.name), kind: "method" };
    }
  }
  yield* scopeDeclarations(file.package, file.messageType, file.enumType, file.extension);
}

/** Declarations of one scope (a package or a message), descending into nested messages. */
function* scopeDeclarations(
  scope: string,
  messages: readonly DescriptorProto[],
  enums: readonly EnumDescriptorProto[],
  extensions: readonly FieldDescriptorProto[],
): Generator<Declaration> {
  for (const message of messages) {
    const messageName = qualify(scope, message.name);
    yield { name: messageName, kind: "message" };
    yield* scopeDeclarations(messageName, message.nestedType, message.enumType, message.extension);
  }
  for (const enumType of enums) {
    yield { name: qualify(scope, enumType.name), kind: "enum" };
  }
  for (const field of extensions) {
    yield { name: qualify(scope, field.name), kind: "extension", field };
  }
}

function qualify(scope: string, name: string): string {
  return scope === "" ? name : `${scope}.${name}`;
}

/** Descriptors write type references as ".pkg.Type"; reflection requests use "pkg.Type". */
function stripLeadingDot(name: string): string {
  return name.startsWith(".") ? name.slice(1) : name;
}

type ReflectionCall = grpc.ServerDuplexStream<ServerReflectionRequest, ServerReflectionResponse>;

/** One handler per server: answers each request on the stream in order. */
function reflectionHandler(index: ReflectionIndex, serviceNames: readonly string[]): (call: ReflectionCall) => void {
  return (call) => {
    call.on("data", (request: ServerReflectionRequest) => {
      writeWithBackpressure(call, safeRespond(index, serviceNames, request));
    });
    // The stream lives as long as the client keeps it open; half-close ends our side too.
    call.on("end", () => call.end());
    // Cancellation or a broken connection surfaces here; without a listener it would be an
    // unhandled 'error' event and crash the process. There is nothing left to answer.
    call.on("error", () => undefined);
  };
}

function writeWithBackpressure(call: ReflectionCall, response: ServerReflectionResponse): void {
  if (call.cancelled || call.writableEnded) {
    return;
  }
  if (!call.write(response)) {
    // Stop reading requests until the client consumes responses, so a client that never
    // reads cannot make us buffer file descriptors without bound.
    call.pause();
    call.once("drain", () => call.resume());
  }
}

type Answer = NonNullable<MessageInitShape<typeof ServerReflectionResponseSchema>["messageResponse"]>;

/** A bug in answering one request becomes an INTERNAL error_response, never a crash. */
function safeRespond(index: ReflectionIndex, serviceNames: readonly string[], request: ServerReflectionRequest): ServerReflectionResponse {
  let messageResponse: Answer;
  try {
    messageResponse = answer(index, serviceNames, request);
  } catch {
    messageResponse = failure(grpc.status.INTERNAL, "reflection failed");
  }
  // The spec asks every response to echo the host and the request it answers.
  return create(ServerReflectionResponseSchema, { validHost: request.host, originalRequest: request, messageResponse });
}

/** Error messages name no symbol or file the caller sent: the request itself is echoed beside them. */
function answer(index: ReflectionIndex, serviceNames: readonly string[], request: ServerReflectionRequest): Answer {
  const { case: kind, value } = request.messageRequest;
  switch (kind) {
    case "listServices":
      return { case: "listServicesResponse", value: { service: serviceNames.map((name) => ({ name })) } };
    case "fileByFilename":
      return filesAnswer(index, value, "file not found");
    case "fileContainingSymbol":
      return filesAnswer(index, index.fileOfSymbol(stripLeadingDot(value)), "symbol not found");
    case "fileContainingExtension":
      return filesAnswer(index, index.fileOfExtension(stripLeadingDot(value.containingType), value.extensionNumber), "extension not found");
    case "allExtensionNumbersOfType":
      return extensionNumbersAnswer(index, stripLeadingDot(value));
    case undefined:
      return failure(grpc.status.INVALID_ARGUMENT, "request sets none of the message_request fields");
  }
}

function filesAnswer(index: ReflectionIndex, fileName: string | undefined, notFound: string): Answer {
  const fileDescriptorProto = fileName === undefined ? undefined : index.fileWithDependencies(fileName);
  if (fileDescriptorProto === undefined) {
    return failure(grpc.status.NOT_FOUND, notFound);
  }
  return { case: "fileDescriptorResponse", value: { fileDescriptorProto } };
}

function extensionNumbersAnswer(index: ReflectionIndex, baseTypeName: string): Answer {
  const extensionNumber = index.extensionNumbers(baseTypeName);
  if (extensionNumber === undefined) {
    return failure(grpc.status.NOT_FOUND, "message type not found");
  }
  return { case: "allExtensionNumbersResponse", value: { baseTypeName, extensionNumber } };
}

function failure(errorCode: grpc.status, errorMessage: string): Answer {
  return { case: "errorResponse", value: { errorCode, errorMessage } };
}
