import { collectDefaultMetrics, Counter, Gauge, Registry } from "prom-client";
import { Code } from "./status";
import type { KeyEventType } from "../core/events";
import type { PoolCounts } from "../store/port";

/** grpc_server_handling_seconds's buckets (upper bounds, seconds). */
const HANDLING_BOUNDS: readonly number[] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * The service's Prometheus metrics (prom-client), under the names every gRPC dashboard
 * already queries (go-grpc-prometheus), counting calls over both transports (label
 * `transport`), plus the pool's gauges, key events and process metrics. No key id or
 * token ever becomes a label: methods, codes, transports, states and event types only.
 *
 * Calls and key events are counted in plain numbers, and prom-client reads them when
 * scraped (its `collect` hooks): a prom-client child hashes its label values on every
 * `inc` or `observe`, about 1 µs each here, so three per call cost a tenth of a Get's
 * CPU, and an expiry storm's million events a second of stall.
 */
export class ServiceMetrics {
  private readonly registry = new Registry();
  /** Figures per method path, then per transport: the path is the bound method's own string, hashed once. */
  private readonly calls = new Map<string, Map<string, CallFigures>>();
  private readonly keyEventCounts = new Map<KeyEventType, number>();

  constructor(counts: () => Promise<PoolCounts>) {
    const registers = [this.registry];
    const labelNames: Label[] = ["grpc_type", "grpc_service", "grpc_method", "transport"];
    const figures = (): IterableIterator<CallFigures> => this.allFigures();
    new Counter({
      name: "grpc_server_started_total",
      help: "RPCs started on the server.",
      labelNames,
      registers,
      collect() {
        this.reset();
        for (const call of figures()) this.inc(call.labels, call.started);
      },
    });
    new Counter({
      name: "grpc_server_handled_total",
      help: "RPCs completed on the server, whatever their status.",
      labelNames: [...labelNames, "grpc_code"],
      registers,
      collect() {
        this.reset();
        for (const call of figures()) {
          call.handled.forEach((count, code) => {
            if (count > 0) this.inc({ ...call.labels, grpc_code: CODE_NAMES[code] ?? "Unknown" }, count);
          });
        }
      },
    });
    const keyEventCounts = this.keyEventCounts;
    new Counter({
      name: "token_key_events_total",
      help: "Key events this instance applied, by type.",
      labelNames: ["type"],
      registers,
      collect() {
        this.reset();
        for (const [type, count] of keyEventCounts) this.inc({ type }, count);
      },
    });
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

  /** The figures of one method ("/package.Service/Method") on one transport. */
  forCall(path: string, transport: string, kind: GrpcType): CallCounters {
    let byTransport = this.calls.get(path);
    if (byTransport === undefined) {
      byTransport = new Map();
      this.calls.set(path, byTransport);
    }
    let found = byTransport.get(transport);
    if (found === undefined) {
      const [service = "", method = ""] = path.slice(1).split("/");
      found = new CallFigures({ grpc_type: kind, grpc_service: service, grpc_method: method, transport });
      byTransport.set(transport, found);
    }
    return found;
  }

  keyEvent(type: KeyEventType): void {
    this.keyEventCounts.set(type, (this.keyEventCounts.get(type) ?? 0) + 1);
  }

  contentType(): string {
    return this.registry.contentType;
  }

  /** The exposition: prom-client's registry, then the handling histogram (see handlingText). */
  async text(): Promise<string> {
    const handling = handlingText("grpc_server_handling_seconds", "Time from the start of an RPC to its status, in seconds.", this.allFigures());
    return `${await this.registry.metrics()}\n${handling}\n`;
  }

  private *allFigures(): IterableIterator<CallFigures> {
    for (const byTransport of this.calls.values()) yield* byTransport.values();
  }
}

type Label = "grpc_type" | "grpc_service" | "grpc_method" | "transport";
export type GrpcType = "unary" | "client_stream" | "server_stream" | "bidi_stream";

/** What a call reports: its start, then its code and handling time. */
export interface CallCounters {
  start(): void;
  finish(code: number, seconds: number): void;
}

/** One method on one transport: counts since start, read by the scrape. */
class CallFigures implements CallCounters {
  started = 0;
  /** Calls handled, by gRPC code (index). */
  readonly handled = new Float64Array(CODE_NAMES.length);
  /** Handling times per bucket (not cumulative), the last one past the largest bound. */
  readonly buckets = new Float64Array(HANDLING_BOUNDS.length + 1);
  sum = 0;
  handledCount = 0;

  constructor(readonly labels: Readonly<Record<Label, string>>) {}

  start(): void {
    this.started++;
  }

  finish(code: number, seconds: number): void {
    const index = code >= 0 && code < CODE_NAMES.length ? code : Code.UNKNOWN;
    this.handled[index] = (this.handled[index] ?? 0) + 1;
    let bucket = 0;
    while (bucket < HANDLING_BOUNDS.length && seconds > (HANDLING_BOUNDS[bucket] ?? Infinity)) bucket++;
    this.buckets[bucket] = (this.buckets[bucket] ?? 0) + 1;
    this.sum += seconds;
    this.handledCount++;
  }
}

/**
 * grpc_server_handling_seconds in the Prometheus text format, as prom-client's own
 * Histogram writes it (cumulative `le` buckets, `+Inf`, `_sum`, `_count`; the test
 * compares the two). Written here because prom-client has no way to hand it counts
 * kept elsewhere: its Histogram takes one `observe` per sample.
 */
function handlingText(name: string, help: string, figures: Iterable<CallFigures>): string {
  const lines = [`# HELP ${name} ${help}`, `# TYPE ${name} histogram`];
  for (const call of figures) {
    if (call.handledCount === 0) continue; // as prom-client: a child appears at its first observation
    const labels = Object.entries(call.labels)
      .map(([label, value]) => `,${label}="${escapeLabel(value)}"`)
      .join("");
    let cumulative = 0;
    HANDLING_BOUNDS.forEach((bound, i) => {
      cumulative += call.buckets[i] ?? 0;
      lines.push(`${name}_bucket{le="${bound}"${labels}} ${cumulative}`);
    });
    const count = cumulative + (call.buckets[HANDLING_BOUNDS.length] ?? 0);
    lines.push(`${name}_bucket{le="+Inf"${labels}} ${count}`, `${name}_sum{${labels.slice(1)}} ${call.sum}`, `${name}_count{${labels.slice(1)}} ${count}`);
  }
  return lines.join("\n");
}

/** A label value as the text format escapes it. */
function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
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
