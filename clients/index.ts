/**
 * The typed client for tokens.v1.TokenService: one import for another service.
 *
 *   import { createTokenClient } from "token-orchestrator/clients";
 *
 * `createTokenClient` wraps the ts-proto generated grpc-js client in promises;
 * the generated types and the raw callback client are re-exported as they are.
 */
import { type CallOptions, ChannelCredentials, type ChannelOptions, type Metadata, type ServiceError } from "@grpc/grpc-js";
import { type CallSettings, callOptionsOf, metadataOf, type StreamSettings } from "./call-settings";
import * as generated from "./generated/tokens/v1/tokens";
import { type KeyEvent, TokenServiceClient, TokenServiceService, WatchRequest } from "./generated/tokens/v1/tokens";
import { type KeepAliveSession, keepAliveSession, watchEvents } from "./streams";

export * from "./generated/tokens/v1/tokens";
export { status as Code, type ServiceError } from "@grpc/grpc-js";
export type { CallSettings, StreamSettings } from "./call-settings";
export type { KeepAliveSession } from "./streams";
export * from "./with-key";

type Methods = typeof TokenServiceService;
type RequestOf<K extends keyof Methods> = Parameters<Methods[K]["requestSerialize"]>[0];
type ResponseOf<K extends keyof Methods> = ReturnType<Methods[K]["responseDeserialize"]>;
type UnaryName = { [K in keyof Methods]: Methods[K]["responseStream"] extends false ? K : never }[keyof Methods];

/**
 * Every unary RPC as `(request, settings?) => Promise<response>`, failures rejecting with
 * a grpc-js ServiceError; Watch as an async iterable of events; KeepAliveStream as a
 * session whose renewals resolve with their own answers. A request names only the fields
 * it sets, as protobuf means it: `list({})`, `release({ keyId, lease })`.
 */
export type TokenClient = {
  readonly [K in UnaryName]: (request: Partial<RequestOf<K>>, settings?: CallSettings) => Promise<ResponseOf<K>>;
} & {
  /**
   * Every key event from `startRevision` (0: from now on), until the server ends the
   * stream (the iteration throws its ServiceError: OUT_OF_RANGE once the revision is
   * no longer retained), `settings.signal` aborts it (the iteration just ends), or the loop breaks.
   */
  watch(request: Partial<WatchRequest>, settings?: StreamSettings): AsyncIterable<KeyEvent>;
  /** One stream that renews many keys: see KeepAliveSession. */
  keepAliveStream(settings?: StreamSettings): KeepAliveSession;
  /** The generated callback client, for anything else. */
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
  const client: Record<string, unknown> = {
    raw,
    close: () => raw.close(),
    watch: (request: Partial<WatchRequest>, settings: StreamSettings = {}) => watchEvents(raw, WatchRequest.fromPartial(request), settings, authorization),
    keepAliveStream: (settings: StreamSettings = {}) => keepAliveSession(raw, settings, authorization),
  };
  for (const [name, definition] of Object.entries(TokenServiceService)) {
    if (definition.responseStream) continue;
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
  const metadata = metadataOf(settings, authorization);
  const options = callOptionsOf(settings);
  const method = (raw as unknown as Record<string, RawUnary>)[name] as RawUnary;
  return new Promise((resolve, reject) => {
    method.call(raw, request, metadata, options, (error, response) => (error ? reject(error) : resolve(response)));
  });
}
