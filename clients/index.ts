/**
 * The typed client for tokens.v1.TokenService: one import for another service.
 *
 *   import { createTokenClient } from "token-orchestrator/clients";
 *
 * `createTokenClient` wraps the ts-proto generated grpc-js client in promises;
 * the generated types and the raw callback client are re-exported as they are.
 */
import { type CallOptions, ChannelCredentials, type ChannelOptions, Metadata, type ServiceError } from "@grpc/grpc-js";
import * as generated from "./generated/tokens/v1/tokens";
import { TokenServiceClient, TokenServiceService } from "./generated/tokens/v1/tokens";

export * from "./generated/tokens/v1/tokens";
export { status as Code, type ServiceError } from "@grpc/grpc-js";

type Methods = typeof TokenServiceService;
type RequestOf<K extends keyof Methods> = Parameters<Methods[K]["requestSerialize"]>[0];
type ResponseOf<K extends keyof Methods> = ReturnType<Methods[K]["responseDeserialize"]>;

export interface CallSettings {
  /** Per-call deadline in milliseconds from now. */
  readonly timeoutMs?: number;
  /** Extra metadata, e.g. { "x-request-id": "…" }. */
  readonly metadata?: Readonly<Record<string, string>>;
}

/**
 * Every RPC as `(request, settings?) => Promise<response>`; failures reject with a
 * grpc-js ServiceError. A request names only the fields it sets, as protobuf means
 * it: `list({})`, `release({ keyId, lease })`; the rest are their defaults.
 */
export type TokenClient = {
  readonly [K in keyof Methods]: (request: Partial<RequestOf<K>>, settings?: CallSettings) => Promise<ResponseOf<K>>;
} & {
  /** The generated callback client, for streaming-style or advanced use. */
  readonly raw: TokenServiceClient;
  close(): void;
};

/** TLS towards the service: PEM bytes. */
export interface TlsOptions {
  /** The CA that signed the server's certificate; defaults to the system's roots. */
  readonly ca?: Buffer;
  /** A client certificate and its key, for a service that asks for one (mutual TLS). */
  readonly cert?: Buffer;
  readonly key?: Buffer;
}

export interface TokenClientOptions {
  /** A bearer token, sent as `authorization: Bearer <token>` with every call. */
  readonly token?: string;
  /** TLS (plaintext when absent, unless `credentials` says otherwise). */
  readonly tls?: TlsOptions;
  /** grpc-js credentials as they are; wins over `tls`. */
  readonly credentials?: ChannelCredentials;
  readonly channelOptions?: ChannelOptions;
}

/** A promise-based client for the service at `address` ("host:port"). */
export function createTokenClient(address: string, options: TokenClientOptions = {}): TokenClient {
  const { tls } = options;
  const credentials =
    options.credentials ??
    (tls === undefined ? ChannelCredentials.createInsecure() : ChannelCredentials.createSsl(tls.ca ?? null, tls.key ?? null, tls.cert ?? null));
  const raw = new TokenServiceClient(address, credentials, options.channelOptions);
  const authorization = options.token === undefined ? undefined : `Bearer ${options.token}`;
  const client: Record<string, unknown> = { raw, close: () => raw.close() };
  for (const name of Object.keys(TokenServiceService)) {
    const complete = requestTypeOf(name);
    client[name] = (request: unknown, settings: CallSettings = {}) => callUnary(raw, name, complete(request), settings, authorization);
  }
  return client as TokenClient;
}

/** The generated `fromPartial` of a method's request (`keepAlive` → KeepAliveRequest), which fills in defaults. */
function requestTypeOf(method: string): (partial: unknown) => unknown {
  const name = `${method.charAt(0).toUpperCase()}${method.slice(1)}Request`;
  const type = (generated as Record<string, unknown>)[name] as { fromPartial?: (partial: unknown) => unknown } | undefined;
  if (typeof type?.fromPartial !== "function") throw new Error(`no generated ${name} for the method ${method}`);
  return type.fromPartial.bind(type);
}

type UnaryCallback = (error: ServiceError | null, response: unknown) => void;
type RawUnary = (request: unknown, metadata: Metadata, options: Partial<CallOptions>, callback: UnaryCallback) => void;

function callUnary(raw: TokenServiceClient, name: string, request: unknown, settings: CallSettings, authorization: string | undefined): Promise<unknown> {
  const metadata = new Metadata();
  // Per call, not as call credentials: grpc-js composes those with TLS channels only.
  if (authorization !== undefined) metadata.set("authorization", authorization);
  for (const [key, value] of Object.entries(settings.metadata ?? {})) metadata.set(key, value);
  const options: Partial<CallOptions> =
    settings.timeoutMs === undefined ? {} : { deadline: new Date(Date.now() + settings.timeoutMs) };
  const method = (raw as unknown as Record<string, RawUnary>)[name] as RawUnary;
  return new Promise((resolve, reject) => {
    method.call(raw, request, metadata, options, (error, response) => (error ? reject(error) : resolve(response)));
  });
}
