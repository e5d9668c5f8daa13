import { type CallOptions, Metadata } from "@grpc/grpc-js";

export interface CallSettings {
  /** Per-call deadline in milliseconds from now. */
  readonly timeoutMs?: number;
  /** Extra metadata, e.g. { "x-request-id": "…" }. */
  readonly metadata?: Readonly<Record<string, string>>;
}

export interface StreamSettings extends CallSettings {
  /** Ends the stream from outside: a watch's iteration ends, a keep-alive session is cancelled. */
  readonly signal?: AbortSignal;
}

/** A call's metadata: the bearer token (per call, not as call credentials: grpc-js composes those with TLS channels only) and the caller's own. */
export function metadataOf(settings: CallSettings, authorization: string | undefined): Metadata {
  const metadata = new Metadata();
  if (authorization !== undefined) metadata.set("authorization", authorization);
  for (const [key, value] of Object.entries(settings.metadata ?? {})) metadata.set(key, value);
  return metadata;
}

export function callOptionsOf(settings: CallSettings): Partial<CallOptions> {
  return settings.timeoutMs === undefined ? {} : { deadline: new Date(Date.now() + settings.timeoutMs) };
}
