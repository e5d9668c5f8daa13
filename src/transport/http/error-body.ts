/** The error body every REST failure carries: grpc-gateway's Status JSON. */
export function errorBody(code: number, message: string): string {
  return JSON.stringify({ code, message, details: [] });
}
