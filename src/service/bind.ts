import { create, type DescMessage, type DescMethod, type DescService, type Message, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";
import { type CallContext, type CallKind, type CallStep, composeSteps } from "./pipeline";

/** A unary handler: the request message in, the response as a plain init object out. */
export type UnaryHandler<I extends DescMessage, O extends DescMessage> = (
  request: MessageShape<I>,
  context: CallContext,
) => Promise<MessageInitShape<O>>;

/**
 * Where a streaming handler sends its answers. `send` resolves once the transport can
 * take more (back-pressure: a slow reader slows the handler, nothing piles up), and
 * rejects when the caller is gone. `open` says the call is accepted and its stream
 * begins (REST answers 200 and its event-stream headers then); the first `send` opens
 * it too. A failure before the stream opens is answered as a unary failure is.
 */
export interface ResponseSink<O extends DescMessage> {
  send(response: MessageInitShape<O>): Promise<void>;
  open(): Promise<void>;
}

/** A server-streaming handler: one request in, any number of answers out; resolves when the stream is done. */
export type ServerStreamHandler<I extends DescMessage, O extends DescMessage> = (
  request: MessageShape<I>,
  context: CallContext,
  sink: ResponseSink<O>,
) => Promise<void>;

/** A bidirectional handler: the caller's requests as they come (pulled: back-pressure), answers out. */
export type BidiStreamHandler<I extends DescMessage, O extends DescMessage> = (
  requests: AsyncIterable<MessageShape<I>>,
  context: CallContext,
  sink: ResponseSink<O>,
) => Promise<void>;

/**
 * Handlers for every method of a generated (protobuf-es) service, fully typed,
 * as connect-es's ServiceImpl: unary, server-streaming and bidirectional methods.
 */
export type ServiceHandlers<S extends DescService> = {
  readonly [K in keyof S["method"]]: S["method"][K] extends { methodKind: "unary"; input: infer I extends DescMessage; output: infer O extends DescMessage }
    ? UnaryHandler<I, O>
    : S["method"][K] extends { methodKind: "server_streaming"; input: infer I extends DescMessage; output: infer O extends DescMessage }
      ? ServerStreamHandler<I, O>
      : S["method"][K] extends { methodKind: "bidi_streaming"; input: infer I extends DescMessage; output: infer O extends DescMessage }
        ? BidiStreamHandler<I, O>
        : never;
};

/** What a transport hands a bound streaming method: the request(s) and where answers go. */
export interface StreamCall {
  /** The one request of a server stream; the caller's requests of a bidirectional one. */
  readonly request: Message | AsyncIterable<Message>;
  readonly sink: { send(response: Message): Promise<void>; open(): Promise<void> };
}

interface BoundCommon {
  /** The method's localName (lowerCamel), as ts-proto and protobuf-es name it. */
  readonly name: string;
  /** "/package.Service/Method": how both transports name the call. */
  readonly path: string;
  readonly input: DescMessage;
  readonly output: DescMessage;
}

/** A unary method, ready for any transport: its schemas and its piped handler. */
export interface BoundUnary extends BoundCommon {
  readonly kind: "unary";
  readonly invoke: (request: Message, context: CallContext) => Promise<Message>;
}

/**
 * A streaming method, ready for any transport. The pipeline's steps wrap the whole
 * stream, as they wrap a unary call: one authentication at its start, one log line,
 * one `handled` count and one duration at its end, errors mapped once.
 */
export interface BoundStream extends BoundCommon {
  readonly kind: "server_stream" | "bidi_stream";
  readonly invoke: (call: StreamCall, context: CallContext) => Promise<void>;
}

export type BoundMethod = BoundUnary | BoundStream;

export interface BoundService {
  readonly service: DescService;
  readonly methods: readonly BoundMethod[];
}

/**
 * A handler seen from the binder, whatever its method's kind: the binder checks
 * nothing here, the method's descriptor says what the handler gets (a request or
 * the requests, and a sink for a stream) and the output schema shapes its answers.
 */
export type AnyHandler = (request: never, context: CallContext, sink: never) => Promise<unknown>;

/** The kind of call a method makes, as the pipeline and the metrics name it (go-grpc-prometheus's grpc_type). */
export function callKindOf(method: DescMethod): CallKind {
  switch (method.methodKind) {
    case "unary":
      return "unary";
    case "server_streaming":
      return "server_stream";
    case "client_streaming":
      return "client_stream";
    case "bidi_streaming":
      return "bidi_stream";
  }
}

/**
 * Binds a handler to every method of a service, each call running through the
 * same steps. The typed entry point for generated services is `bindService`;
 * this one serves services known only at run time (descriptors from a registry).
 */
export function bindMethods(service: DescService, handlerOf: (method: DescMethod) => AnyHandler, steps: readonly CallStep[]): BoundService {
  const methods = service.methods.map((method): BoundMethod => {
    const common = { name: method.localName, path: `/${service.typeName}/${method.name}`, input: method.input, output: method.output };
    const kind = callKindOf(method);
    const handler = handlerOf(method) as (request: unknown, context: CallContext, sink?: unknown) => Promise<unknown>;
    const { output } = method;
    if (kind === "unary") {
      const call = async (request: Message, context: CallContext): Promise<Message> => create(output, (await handler(request, context)) as MessageInitShape<DescMessage>);
      return { ...common, kind, invoke: composeSteps(steps, call) };
    }
    if (kind === "client_stream") throw new Error(`${service.typeName}.${method.name}: client-streaming methods are not supported`);
    const stream = async (call: StreamCall, context: CallContext): Promise<void> => {
      const sink: ResponseSink<DescMessage> = {
        send: (response) => call.sink.send(create(output, response)),
        open: () => call.sink.open(),
      };
      await handler(call.request, context, sink);
    };
    return { ...common, kind, invoke: composeSteps(steps, stream) };
  });
  return { service, methods };
}

/** Binds typed handlers to a generated service. */
export function bindService<S extends DescService>(service: S, handlers: ServiceHandlers<S>, steps: readonly CallStep[]): BoundService {
  // The one place typed handlers meet the runtime's untyped messages: the method's own
  // schemas decode every request, so each handler gets exactly the shape it was typed for.
  const table = handlers as unknown as Readonly<Record<string, AnyHandler>>;
  return bindMethods(service, (method) => table[method.localName] ?? missing(method), steps);
}

function missing(method: DescMethod): never {
  throw new Error(`no handler for ${method.parent.typeName}.${method.name}`);
}
