import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { KeyEventType } from "../core/events";
import type { PoolCounts } from "../store/port";

/**
 * The service's Prometheus metrics (prom-client), under the names every gRPC dashboard
 * already queries (go-grpc-prometheus), counting calls over both transports (label
 * `transport`), plus the pool's gauges, key events and process metrics. No key id or
 * token ever becomes a label: methods, codes, transports, states and event types only.
 */
export class ServiceMetrics {
  readonly registry = new Registry();
  private readonly started: Counter<Label>;
  private readonly handled: Counter<Label | "grpc_code">;
  private readonly handling: Histogram<Label>;
  private readonly keyEvents: Counter<"type">;
  private readonly keyEventChildren = new Map<KeyEventType, Counter.Internal>();
  /** Label children per transport and method, resolved once: a call does no label hashing. */
  private readonly children = new Map<string, CallCounters>();

  constructor(counts: () => Promise<PoolCounts>) {
    const registers = [this.registry];
    const labelNames: Label[] = ["grpc_type", "grpc_service", "grpc_method", "transport"];
    this.started = new Counter({ name: "grpc_server_started_total", help: "RPCs started on the server.", labelNames, registers });
    this.handled = new Counter({
      name: "grpc_server_handled_total",
      help: "RPCs completed on the server, whatever their status.",
      labelNames: [...labelNames, "grpc_code"],
      registers,
    });
    this.handling = new Histogram({
      name: "grpc_server_handling_seconds",
      help: "Time from the start of an RPC to its status, in seconds.",
      labelNames,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.keyEvents = new Counter({ name: "token_key_events_total", help: "Key events this instance applied, by type.", labelNames: ["type"], registers });
    new Gauge({
      name: "token_keys",
      help: "Keys in the pool by state (every instance's, on Redis), read on each scrape.",
      labelNames: ["state"],
      registers,
      async collect() {
        const { available, leased, cooling } = await counts();
        this.set({ state: "available" }, available);
        this.set({ state: "leased" }, leased);
        this.set({ state: "cooling" }, cooling);
      },
    });
    collectDefaultMetrics({ register: this.registry });
  }

  /** The counters of one method ("/package.Service/Method") on one transport. */
  forCall(path: string, transport: string, kind: GrpcType): CallCounters {
    const key = `${transport} ${path}`;
    let found = this.children.get(key);
    if (found === undefined) {
      const [service = "", method = ""] = path.slice(1).split("/");
      const labels = { grpc_type: kind, grpc_service: service, grpc_method: method, transport };
      const byCode = new Map<number, Counter.Internal>();
      found = {
        started: this.started.labels(labels),
        handling: this.handling.labels(labels),
        handled: (code) => {
          let counter = byCode.get(code);
          if (counter === undefined) {
            counter = this.handled.labels({ ...labels, grpc_code: CODE_NAMES[code] ?? "Unknown" });
            byCode.set(code, counter);
          }
          return counter;
        },
      };
      this.children.set(key, found);
    }
    return found;
  }

  keyEvent(type: KeyEventType): void {
    // A child per type, resolved once: an expiry storm counts a million events, and a
    // labelled inc() hashes its labels every time.
    let child = this.keyEventChildren.get(type);
    if (child === undefined) {
      child = this.keyEvents.labels({ type });
      this.keyEventChildren.set(type, child);
    }
    child.inc();
  }

  contentType(): string {
    return this.registry.contentType;
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}

type Label = "grpc_type" | "grpc_service" | "grpc_method" | "transport";
export type GrpcType = "unary" | "client_stream" | "server_stream" | "bidi_stream";

export interface CallCounters {
  readonly started: Counter.Internal;
  readonly handling: Histogram.Internal<Label>;
  handled(code: number): Counter.Internal;
}

/** grpc_code values as go-grpc-prometheus writes them (Go's codes.Code.String()). */
const CODE_NAMES: readonly string[] = [
  "OK",
  "Canceled",
  "Unknown",
  "InvalidArgument",
  "DeadlineExceeded",
  "NotFound",
  "AlreadyExists",
  "PermissionDenied",
  "ResourceExhausted",
  "FailedPrecondition",
  "Aborted",
  "OutOfRange",
  "Unimplemented",
  "Internal",
  "Unavailable",
  "DataLoss",
  "Unauthenticated",
];
