import { type DescMessage, fromBinary, type JsonValue, toJson } from "@bufbuild/protobuf";
import {
  AcquireResponse,
  CreateResponse,
  DeleteResponse,
  GetResponse,
  KeepAliveResponse,
  KeyEvent,
  ListResponse,
  ReleaseResponse,
  StatsResponse,
} from "../../clients";
import {
  AcquireResponseSchema,
  CreateResponseSchema,
  DeleteResponseSchema,
  GetResponseSchema,
  KeepAliveResponseSchema,
  KeyEventSchema,
  ListResponseSchema,
  ReleaseResponseSchema,
  StatsResponseSchema,
} from "../generated/tokens/v1/tokens_pb";

/**
 * Answers as protojson writes them: lowerCamelCase names, durations as "600s",
 * timestamps in RFC 3339 UTC, 64-bit integers (lease, revision) as strings, enums by
 * name, fields at their zero value present (`"isBlocked":false`), unset ones (the
 * timestamps of an available key) absent.
 *
 * The generated client's own toJSON is not protojson (durations as {seconds, nanos},
 * leases as numbers, zero values dropped), so each answer is re-read, through its
 * wire bytes, into protobuf-es, whose toJson is a conformant protojson writer
 * driven by the same proto's descriptors.
 */

interface Encodes<T> {
  encode(message: T): { finish(): Uint8Array };
}

type Writer<T> = (message: T) => JsonValue;

function protojson<T>(type: Encodes<T>, schema: DescMessage): Writer<T> {
  return (message) => toJson(schema, fromBinary(schema, type.encode(message).finish()), { alwaysEmitImplicit: true });
}

/** One writer per answer type; each pairs a ts-proto message with its protobuf-es schema by name. */
export const answerJson = {
  create: protojson(CreateResponse, CreateResponseSchema),
  acquire: protojson(AcquireResponse, AcquireResponseSchema),
  get: protojson(GetResponse, GetResponseSchema),
  release: protojson(ReleaseResponse, ReleaseResponseSchema),
  keepAlive: protojson(KeepAliveResponse, KeepAliveResponseSchema),
  delete: protojson(DeleteResponse, DeleteResponseSchema),
  stats: protojson(StatsResponse, StatsResponseSchema),
  list: protojson(ListResponse, ListResponseSchema),
  event: protojson(KeyEvent, KeyEventSchema),
} as const;

/** One JSON document on one line: script-friendly (`| jq .` pretty-prints it). */
export function jsonLine(json: JsonValue): string {
  return `${JSON.stringify(json)}\n`;
}
