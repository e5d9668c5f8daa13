import { ServerInterceptingCall, type ServerInterceptor } from "@grpc/grpc-js";

/**
 * grpc-js ends some calls on its own while the handler may still be writing answers:
 * a request frame over the size limit, a message that does not parse or decompress, the
 * caller's deadline. With the response headers already sent (every call here sends the
 * request id at once), its status waits for the HTTP/2 stream to flush; an answer the
 * handler writes in that moment is a write after the stream's end, which leaves the
 * stream stuck: the status never goes out and the caller waits for ever.
 *
 * This interceptor sits next to grpc-js's own call and decorates its two public methods,
 * which grpc-js also calls on itself: once a status is sent, whoever sent it, further
 * answers are dropped (their write completes at once, as for a call already over).
 */
export const dropWritesAfterStatus: ServerInterceptor = (method, call) => {
  // Only a handler that streams answers can still be writing when grpc-js ends the call;
  // a unary one answers once, through grpc-js's own callback. Unary calls (the hot path)
  // go through untouched: no wrapper, no closures. grpc-js chains interceptors by passing
  // each one's result to the next, so its own call serves as the result (its type names
  // the class where the interface is all it needs).
  if (!method.responseStream) return call as ServerInterceptingCall;
  let ended = false;
  const sendStatus = call.sendStatus.bind(call);
  const sendMessage = call.sendMessage.bind(call);
  call.sendStatus = (status) => {
    ended = true;
    sendStatus(status);
  };
  call.sendMessage = (message: unknown, callback: () => void) => {
    if (ended) callback();
    else sendMessage(message, callback);
  };
  return new ServerInterceptingCall(call); // passes everything through, to the decorated methods
};
