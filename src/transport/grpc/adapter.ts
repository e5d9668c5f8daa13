import type { Metadata, sendUnaryData, ServerUnaryCall, UntypedServiceImplementation } from "@grpc/grpc-js";
import type { BoundService } from "../../service/bind";
import type { CallContext } from "../../service/pipeline";
import { toCallError } from "../../service/status";

/** The gRPC adapter: each bound method becomes a grpc-js unary handler. Nothing else happens here. */
export function grpcImplementation(service: BoundService): UntypedServiceImplementation {
  const implementation: UntypedServiceImplementation = {};
  for (const method of service.methods) {
    implementation[method.name] = (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => {
      const context: CallContext = { method: method.path, transport: "grpc", requestId: requestIdOf(call.metadata) };
      method.invoke(call.request, context).then(
        (response) => callback(null, response),
        (error: unknown) => {
          const failure = toCallError(error);
          callback({ code: failure.code, details: failure.message });
        },
      );
    };
  }
  return implementation;
}

function requestIdOf(metadata: Metadata): string | undefined {
  const [value] = metadata.get("x-request-id");
  return typeof value === "string" && value.length > 0 && value.length <= 200 ? value : undefined;
}
