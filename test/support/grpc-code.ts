import type { ServiceError } from "../../clients";

/** Awaits a gRPC call that must fail and returns its status code. */
export async function codeOf(call: Promise<unknown>): Promise<number> {
  try {
    await call;
  } catch (error) {
    return (error as ServiceError).code;
  }
  throw new Error("expected the call to fail");
}
