import { once } from "node:events";
import { type DescMessage, fromBinary, type Message, toBinary } from "@bufbuild/protobuf";
import {
  Metadata,
  type MethodDefinition,
  type sendUnaryData,
  type ServerDuplexStream,
  type ServerUnaryCall,
  type ServerWritableStream,
  type ServiceDefinition,
  type UntypedServiceImplementation,
} from "@grpc/grpc-js";
import type { BoundService, BoundStream, BoundUnary, StreamCall } from "../../service/bind";
import { type CallContext, OnDemandRemote } from "../../service/pipeline";
import { REQUEST_ID_HEADER, requestIdOf } from "../../service/request-id";
import { CallError, Code, toCallError } from "../../service/status";

/** The grpc-js service definition of a bound service: protobuf-es (de)serialisers from its schemas. */
export function grpcDefinition(bound: BoundService): ServiceDefinition {
  const definition: Record<string, MethodDefinition<Message, Message>> = {};
  for (const method of bound.methods) {
    definition[method.name] = {
      path: method.path,
      originalName: method.name,
      requestStream: method.kind === "bidi_stream",
      responseStream: method.kind !== "unary",
      requestSerialize: serializer(method.input),
      requestDeserialize: deserializer(method.input),
      responseSerialize: serializer(method.output),
      responseDeserialize: deserializer(method.output),
    };
  }
  return definition;
}

export function serializer(schema: DescMessage): (message: Message) => Buffer {
  return (message) => {
    const bytes = toBinary(schema, message);
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength); // a view, not a copy
  };
}

/**
 * A message that does not parse throws here, and grpc-js answers INTERNAL, as the
 * gRPC spec and grpc-go do. Unknown fields are skipped, not kept on the message.
 */
export function deserializer(schema: DescMessage): (bytes: Buffer) => Message {
  return (bytes) => fromBinary(schema, bytes, { readUnknownFields: false });
}

/** The gRPC adapter: each bound method becomes a grpc-js handler of its kind. Nothing else happens here. */
export function grpcImplementation(bound: BoundService): UntypedServiceImplementation {
  const implementation: UntypedServiceImplementation = {};
  for (const method of bound.methods) implementation[method.name] = method.kind === "unary" ? unaryHandler(method) : streamHandler(method);
  return implementation;
}

type AnyServerCall = ServerUnaryCall<Message, Message> | ServerWritableStream<Message, Message> | ServerDuplexStream<Message, Message>;

/** The call's context, the same for every kind: request id (echoed at once), authorization, the caller's end. */
function contextOf(call: AnyServerCall, method: BoundUnary | BoundStream): CallContext {
  const [given] = call.metadata.get(REQUEST_ID_HEADER);
  const requestId = requestIdOf(typeof given === "string" ? given : undefined);
  // The request id goes back as response metadata, as REST echoes it as a header.
  const echo = new Metadata();
  echo.set(REQUEST_ID_HEADER, requestId);
  call.sendMetadata(echo);
  const [authorization] = call.metadata.get("authorization");
  return {
    remote: new GrpcRemote(call),
    method: method.path,
    kind: method.kind,
    transport: "grpc",
    requestId,
    authorization: typeof authorization === "string" ? authorization : undefined,
    caller: undefined,
  };
}

/**
 * The caller's end of a grpc-js call. grpc-js marks the call `cancelled` (and emits
 * "cancelled") when the caller cancels or the connection breaks, and also when a
 * finished call's stream closes: only a handler still running can tell, and a signal
 * is made for the few that ask (a waiting Acquire, a stream).
 */
class GrpcRemote extends OnDemandRemote {
  constructor(private readonly call: AnyServerCall) {
    super();
  }

  get address(): string {
    return addressOf(this.call.getPeer());
  }

  get connection(): string | undefined {
    const peer = this.call.getPeer(); // "address:port" of the HTTP/2 session's socket, "unknown" without one
    return peer === "unknown" ? undefined : peer;
  }

  get cancelled(): boolean {
    return this.call.cancelled;
  }

  protected whenGone(gone: () => void): void {
    (this.call as NodeJS.EventEmitter).once("cancelled", gone);
  }
}

function unaryHandler(method: BoundUnary): (call: ServerUnaryCall<Message, Message>, callback: sendUnaryData<Message>) => void {
  return (call, callback) => {
    const context = contextOf(call, method);
    method.invoke(call.request, context).then(
      (response) => callback(null, response),
      (error: unknown) => {
        const failure = toCallError(error);
        const metadata = trailersOf(failure);
        callback(metadata === undefined ? { code: failure.code, details: failure.message } : { code: failure.code, details: failure.message, metadata });
      },
    );
  };
}

/**
 * A streaming method on a grpc-js stream: the caller's messages pulled one at a time
 * (grpc-js buffers at most its high-water mark, then HTTP/2 flow control holds the
 * caller back), answers written with back-pressure, the status sent at the end.
 */
function streamHandler(method: BoundStream): (call: ServerWritableStream<Message, Message> | ServerDuplexStream<Message, Message>) => void {
  return (call) => {
    const context = contextOf(call, method);
    const stream: StreamCall = {
      request: "request" in call ? call.request : requestsOf(call),
      sink: { send: (message) => write(call, message, context.remote.signal), open: async () => undefined },
    };
    method.invoke(stream, context).then(
      () => call.end(),
      (error: unknown) => {
        if (call.cancelled) return; // nobody to tell
        const failure = toCallError(error);
        const metadata = trailersOf(failure);
        call.emit("error", metadata === undefined ? { code: failure.code, details: failure.message } : { code: failure.code, details: failure.message, metadata });
      },
    );
  };
}

/**
 * The caller's messages on a bidirectional call, pulled one at a time (grpc-js reads no
 * further than its buffer: back-pressure). Not Readable's own async iterator: that one
 * destroys the stream when the caller half-closes, and on a grpc-js duplex call that
 * ends the writable side too, so answers still queued were lost and the status never
 * went out. A caller that leaves mid-stream ends the iteration with CANCELLED.
 */
async function* requestsOf(call: ServerDuplexStream<Message, Message>): AsyncGenerator<Message> {
  for (;;) {
    const message = call.read() as Message | null;
    if (message !== null) {
      yield message;
      continue;
    }
    if (call.readableEnded) return;
    if (call.destroyed || call.cancelled) throw new CallError(Code.CANCELLED, "the caller cancelled the call");
    await new Promise<void>((resolve) => {
      const wake = (): void => {
        call.off("readable", wake).off("end", wake).off("close", wake);
        resolve();
      };
      call.on("readable", wake).on("end", wake).on("close", wake);
    });
  }
}

/** Writes one answer; resolves once the stream can take more, rejects once the caller is gone. */
async function write(call: ServerWritableStream<Message, Message> | ServerDuplexStream<Message, Message>, message: Message, gone: AbortSignal): Promise<void> {
  if (gone.aborted || call.cancelled || call.destroyed) throw new CallError(Code.CANCELLED, "the caller cancelled the call");
  if (call.write(message)) return;
  await once(call, "drain", { signal: gone }).catch(() => {
    throw new CallError(Code.CANCELLED, "the caller cancelled the call");
  });
}

/** "1.2.3.4:5678", "[::1]:5678" → the address without the port (what a rate limit keys on). */
export function addressOf(peer: string): string {
  const bracket = /^\[([^\]]*)\]/.exec(peer);
  if (bracket !== null) return bracket[1] ?? peer;
  const colon = peer.lastIndexOf(":");
  return colon > 0 && peer.indexOf(":") === colon ? peer.slice(0, colon) : peer;
}

/** The rate limit's wait as `retry-after` (seconds) trailing metadata, as REST sends Retry-After. */
function trailersOf(failure: CallError): Metadata | undefined {
  if (failure.retryAfterMs === undefined) return undefined;
  const trailers = new Metadata();
  trailers.set("retry-after", String(Math.max(1, Math.ceil(failure.retryAfterMs / 1000))));
  return trailers;
}
