/** gRPC code → HTTP status, as the contract lists it (grpc-gateway's HTTPStatusFromCode): written out here, not imported from the code under test. */
export const CONTRACT_STATUS_OF_CODE: Readonly<Record<number, number>> = {
  1: 499,
  2: 500,
  3: 400,
  4: 504,
  5: 404,
  6: 409,
  7: 403,
  8: 429,
  9: 400,
  10: 409,
  11: 400,
  12: 501,
  13: 500,
  14: 503,
  15: 500,
  16: 401,
};
