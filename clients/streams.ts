import { type ServiceError, status } from "@grpc/grpc-js";
import { callOptionsOf, metadataOf, type StreamSettings } from "./call-settings";
import {
  KeepAliveStreamRequest,
  type KeepAliveStreamResponse,
  type KeyEvent,
  type TokenServiceClient,
  type WatchRequest,
} from "./generated/tokens/v1/tokens";

const isCancelled = (error: unknown): boolean => (error as Partial<ServiceError>).code === status.CANCELLED;

/** Watch as an async iterable: breaking out of the loop or aborting `settings.signal` cancels the call. */
export function watchEvents(raw: TokenServiceClient, request: WatchRequest, settings: StreamSettings, authorization: string | undefined): AsyncIterable<KeyEvent> {
  return {
    async *[Symbol.asyncIterator]() {
      const { signal } = settings;
      if (signal?.aborted) return;
      const call = raw.watch(request, metadataOf(settings, authorization), callOptionsOf(settings));
      const cancel = (): void => call.cancel();
      signal?.addEventListener("abort", cancel);
      try {
        for await (const event of call) yield event as KeyEvent;
      } catch (error) {
        if (signal?.aborted && isCancelled(error)) return;
        throw error;
      } finally {
        signal?.removeEventListener("abort", cancel);
        call.cancel(); // a no-op after the end; after a break, it stops the server's stream
      }
    },
  };
}

/**
 * One KeepAliveStream: `renew` sends a request and resolves with its own answer (the
 * server answers in order), whose `code` is what the unary KeepAlive would have given
 * (0: renewed). A failure of the stream itself rejects every renewal still waiting.
 */
export interface KeepAliveSession {
  renew(request: Partial<KeepAliveStreamRequest>): Promise<KeepAliveStreamResponse>;
  /** Ends the stream once the renewals sent so far are answered. */
  end(): void;
  /** Stops the stream at once; renewals still waiting reject with CANCELLED. */
  cancel(): void;
}

interface Waiting {
  resolve(response: KeepAliveStreamResponse): void;
  reject(error: unknown): void;
}

export function keepAliveSession(raw: TokenServiceClient, settings: StreamSettings, authorization: string | undefined): KeepAliveSession {
  const call = raw.keepAliveStream(metadataOf(settings, authorization), callOptionsOf(settings));
  // Answers come in request order: the oldest waiting renewal is the one answered.
  const waiting: Waiting[] = [];
  let failure: unknown;
  const failAll = (error: unknown): void => {
    failure ??= error;
    for (const renewal of waiting.splice(0)) renewal.reject(failure);
  };
  call.on("data", (response: KeepAliveStreamResponse) => waiting.shift()?.resolve(response));
  call.on("error", failAll);
  call.on("end", () => failAll(new Error("the keep-alive stream ended before answering")));
  const cancel = (): void => call.cancel();
  settings.signal?.addEventListener("abort", cancel, { once: true });
  call.on("close", () => settings.signal?.removeEventListener("abort", cancel));
  return {
    renew: (request) =>
      new Promise<KeepAliveStreamResponse>((resolve, reject) => {
        if (failure !== undefined) {
          reject(failure);
          return;
        }
        waiting.push({ resolve, reject });
        call.write(KeepAliveStreamRequest.fromPartial(request));
      }),
    end: () => call.end(),
    cancel,
  };
}
