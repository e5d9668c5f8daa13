import type { MethodDefinition, ServiceDefinition } from "@grpc/grpc-js";
import { type CallContext, type CallStep, composeSteps, type UnaryHandler } from "./pipeline";

// Read the message types off the (de)serializers: MethodDefinition itself is invariant.
type RequestOf<M> = M extends { requestDeserialize: (bytes: Buffer) => infer Req } ? Req : never;
type ResponseOf<M> = M extends { responseSerialize: (value: infer Res) => Buffer } ? Res : never;

/** Handlers for every method of a (ts-proto, grpc-js) service definition, fully typed. */
export type ServiceHandlers<S extends ServiceDefinition> = {
  readonly [K in keyof S]: UnaryHandler<RequestOf<S[K]>, ResponseOf<S[K]>>;
};

/** One method, ready for any transport: its wire definition and its piped handler. */
export interface BoundMethod {
  /** The key in the service definition (ts-proto's lowerCamel method name). */
  readonly name: string;
  /** "/package.Service/Method": how both transports name the call. */
  readonly path: string;
  readonly definition: MethodDefinition<unknown, unknown>;
  readonly invoke: (request: unknown, context: CallContext) => Promise<unknown>;
}

export interface BoundService {
  readonly definition: ServiceDefinition;
  readonly methods: readonly BoundMethod[];
}

/** Binds handlers to a service definition, running each call through the same steps. */
export function bindService<S extends ServiceDefinition>(
  definition: S,
  handlers: ServiceHandlers<S>,
  steps: readonly CallStep[],
): BoundService {
  const methods = Object.keys(definition).map((name): BoundMethod => {
    const method = definition[name] as MethodDefinition<unknown, unknown>;
    if (method.requestStream || method.responseStream) {
      throw new Error(`${method.path}: only unary methods can be bound`);
    }
    const handler = handlers[name as keyof S] as UnaryHandler<unknown, unknown>;
    return { name, path: method.path, definition: method, invoke: composeSteps(steps, handler) };
  });
  return { definition, methods };
}
