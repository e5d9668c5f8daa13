import { create, type DescMessage, type DescMethod, type DescService, type Message, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";
import { type CallContext, type CallStep, composeSteps } from "./pipeline";

/** A unary handler: the request message in, the response as a plain init object out. */
export type UnaryHandler<I extends DescMessage, O extends DescMessage> = (
  request: MessageShape<I>,
  context: CallContext,
) => Promise<MessageInitShape<O>>;

/**
 * Handlers for every method of a generated (protobuf-es) service, fully typed,
 * as connect-es's ServiceImpl for unary methods.
 */
export type ServiceHandlers<S extends DescService> = {
  readonly [K in keyof S["method"]]: S["method"][K] extends { methodKind: "unary"; input: infer I extends DescMessage; output: infer O extends DescMessage }
    ? UnaryHandler<I, O>
    : never;
};

/** One method, ready for any transport: its schemas and its piped handler. */
export interface BoundMethod {
  /** The method's localName (lowerCamel), as ts-proto and protobuf-es name it. */
  readonly name: string;
  /** "/package.Service/Method": how both transports name the call. */
  readonly path: string;
  readonly input: DescMessage;
  readonly output: DescMessage;
  readonly invoke: (request: Message, context: CallContext) => Promise<Message>;
}

export interface BoundService {
  readonly service: DescService;
  readonly methods: readonly BoundMethod[];
}

/** A handler seen from the binder: any message in, an init of the output out. */
export type AnyUnaryHandler = (request: Message, context: CallContext) => Promise<MessageInitShape<DescMessage>>;

/**
 * Binds a handler to every method of a service, each call running through the
 * same steps. The typed entry point for generated services is `bindService`;
 * this one serves services known only at run time (descriptors from a registry).
 */
export function bindMethods(service: DescService, handlerOf: (method: DescMethod) => AnyUnaryHandler, steps: readonly CallStep[]): BoundService {
  const methods = service.methods.map((method): BoundMethod => {
    if (method.methodKind !== "unary") throw new Error(`${method.parent.typeName}.${method.name}: only unary methods can be bound`);
    const handler = handlerOf(method);
    const { input, output } = method;
    const call = async (request: Message, context: CallContext): Promise<Message> => create(output, await handler(request, context));
    return { name: method.localName, path: `/${service.typeName}/${method.name}`, input, output, invoke: composeSteps(steps, call) };
  });
  return { service, methods };
}

/** Binds typed handlers to a generated service. */
export function bindService<S extends DescService>(service: S, handlers: ServiceHandlers<S>, steps: readonly CallStep[]): BoundService {
  // The one place typed handlers meet the runtime's untyped messages: the method's own
  // schemas decode every request, so each handler gets exactly the shape it was typed for.
  const table = handlers as unknown as Readonly<Record<string, AnyUnaryHandler>>;
  return bindMethods(service, (method) => table[method.localName] ?? missing(method), steps);
}

function missing(method: DescMethod): never {
  throw new Error(`no handler for ${method.parent.typeName}.${method.name}`);
}
