import type { JsonValue, Message } from "@bufbuild/protobuf";
import type { StreamCall } from "../../service/bind";
import { errorBody } from "./error-body";

/**
 * A server stream served as Server-Sent Events (text/event-stream): one frame per
 * message, `id:` and `event:` taken from fields of the message's JSON, `data:` the
 * JSON itself. grpc-gateway streams newline-delimited JSON; SSE is what browsers'
 * EventSource and `curl -N` read, and its Last-Event-ID gives resumption for free.
 */
export interface EventStreamFields {
  /** The JSON field whose value is each frame's `id:` (a revision), and the resume point. */
  readonly id: string;
  /** The JSON field whose value is each frame's `event:` (a type name). */
  readonly event: string;
  /** The request field (localName) a `Last-Event-ID: N` header sets to N + 1. */
  readonly resumeField: string;
}

/** Where the server writes a stream's text; `write` resolves when the socket took it (back-pressure) and rejects once the caller is gone. */
export interface EventOutput {
  write(text: string): Promise<void>;
}

/** A stream's frames, once its headers are out: the server hands the output, then waits for the end. */
export interface EventStream {
  pipe(output: EventOutput): Promise<void>;
}

/** Comment frames this often keep proxies and idle timers from closing a quiet stream. */
const HEARTBEAT_MS = 15_000;

/** One frame from a message's JSON text (which has no newline: `data:` is one line and nothing can forge a frame). */
export function eventFrame(text: string, fields: EventStreamFields): string {
  // Read back for the two header fields: a stream sends one frame per key event, far from any hot path.
  const json = JSON.parse(text) as JsonValue;
  const record = json !== null && typeof json === "object" && !Array.isArray(json) ? json : {};
  const id = record[fields.id];
  const event = record[fields.event];
  return `${typeof id === "string" || typeof id === "number" ? `id: ${id}\n` : ""}${typeof event === "string" ? `event: ${event}\n` : ""}data: ${text}\n\n`;
}

/** The frame a stream that fails after it opened ends with: grpc-gateway's Status JSON as an `error` event. */
export function errorFrame(code: number, message: string): string {
  return `event: error\ndata: ${errorBody(code, message)}\n\n`;
}

/**
 * Runs a server-streaming call for the REST edge. Rejects with the call's error when it
 * fails before its stream opens, so the gateway answers it as a unary failure (JSON);
 * otherwise resolves with the stream, whose frames flow once the server pipes it.
 * Nothing is buffered: until the server attaches an output, the handler's first send waits.
 */
export async function startEventStream(
  invoke: (call: StreamCall) => Promise<void>,
  request: Message,
  encode: (message: Message) => string,
  fields: EventStreamFields,
  onError: (error: unknown) => { code: number; message: string },
): Promise<EventStream> {
  let markOpen = (): void => undefined;
  const opened = new Promise<"open">((resolve) => (markOpen = () => resolve("open")));
  let attach = (_output: EventOutput): void => undefined;
  const attached = new Promise<EventOutput>((resolve) => (attach = resolve));
  const open = async (): Promise<void> => {
    markOpen();
    await attached;
  };
  const done = invoke({
    request,
    sink: {
      open,
      send: async (message) => {
        await open();
        await (await attached).write(eventFrame(encode(message), fields));
      },
    },
  });
  // A failure before the stream opens rejects here: the gateway answers it as JSON.
  await Promise.race([opened, done]);
  return {
    async pipe(output) {
      attach(output);
      const heartbeat = setInterval(() => void output.write(": keep-alive\n\n").catch(() => undefined), HEARTBEAT_MS);
      heartbeat.unref();
      try {
        await done;
      } catch (error) {
        const { code, message } = onError(error);
        await output.write(errorFrame(code, message)).catch(() => undefined);
      } finally {
        clearInterval(heartbeat);
      }
    },
  };
}
