import { expect } from "chai";
import { Counter, Histogram, Registry } from "prom-client";
import { ServiceMetrics } from "../../src/service/metrics";
import { Code } from "../../src/service/status";
import type { PoolCounts } from "../../src/store/port";

const NO_KEYS = async (): Promise<PoolCounts> => ({ total: 0, available: 0, leased: 0, cooling: 0 });

/** The lines of the metric families named, from a Prometheus text exposition, sorted (series order carries no meaning). */
function families(text: string, names: readonly string[]): string[] {
  return text
    .split("\n\n")
    .filter((family) => names.some((name) => family.startsWith(`# HELP ${name} `)))
    .flatMap((family) => family.split("\n"))
    .filter((line) => line !== "")
    .sort();
}

/**
 * The service counts calls in plain numbers and hands them to prom-client at scrape
 * time (a prom-client child hashes its labels on every inc). What a scrape shows must be
 * exactly what prom-client's own Counter and Histogram would show for the same calls.
 */
describe("ServiceMetrics", () => {
  const calls: readonly { path: string; transport: string; code: number; seconds: number }[] = [
    { path: "/tokens.v1.TokenService/Get", transport: "grpc", code: Code.OK, seconds: 0.0004 },
    { path: "/tokens.v1.TokenService/Get", transport: "grpc", code: Code.OK, seconds: 0.0005 }, // on a bound: le is inclusive
    { path: "/tokens.v1.TokenService/Get", transport: "grpc", code: Code.NOT_FOUND, seconds: 0.003 },
    { path: "/tokens.v1.TokenService/Get", transport: "http", code: Code.OK, seconds: 0.07 },
    { path: "/tokens.v1.TokenService/Acquire", transport: "grpc", code: Code.RESOURCE_EXHAUSTED, seconds: 42 }, // past every bound
    { path: "/tokens.v1.TokenService/Acquire", transport: "grpc", code: Code.CANCELLED, seconds: 1 },
  ];

  it("writes the call counters and the handling histogram exactly as prom-client's own metrics would", async () => {
    const metrics = new ServiceMetrics(NO_KEYS);
    for (const call of calls) {
      const counters = metrics.forCall(call.path, call.transport, "unary");
      counters.start();
      counters.finish(call.code, call.seconds);
    }
    metrics.forCall("/tokens.v1.TokenService/Delete", "grpc", "unary").start(); // started, not yet handled

    const reference = new Registry();
    const labelNames = ["grpc_type", "grpc_service", "grpc_method", "transport"];
    const started = new Counter({ name: "grpc_server_started_total", help: "RPCs started on the server.", labelNames, registers: [reference] });
    const handled = new Counter({
      name: "grpc_server_handled_total",
      help: "RPCs completed on the server, whatever their status.",
      labelNames: [...labelNames, "grpc_code"],
      registers: [reference],
    });
    const handling = new Histogram({
      name: "grpc_server_handling_seconds",
      help: "Time from the start of an RPC to its status, in seconds.",
      labelNames,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [reference],
    });
    const codeNames: Record<number, string> = { [Code.OK]: "OK", [Code.NOT_FOUND]: "NotFound", [Code.RESOURCE_EXHAUSTED]: "ResourceExhausted", [Code.CANCELLED]: "Canceled" };
    for (const call of calls) {
      const labels = { grpc_type: "unary", grpc_service: "tokens.v1.TokenService", grpc_method: call.path.split("/")[2] ?? "", transport: call.transport };
      started.inc(labels);
      handled.inc({ ...labels, grpc_code: codeNames[call.code] ?? "" });
      handling.observe(labels, call.seconds);
    }
    started.inc({ grpc_type: "unary", grpc_service: "tokens.v1.TokenService", grpc_method: "Delete", transport: "grpc" });

    const names = ["grpc_server_started_total", "grpc_server_handled_total", "grpc_server_handling_seconds"];
    const ours = families(await metrics.text(), names);
    expect(ours).to.have.length.above(20);
    expect(ours).to.deep.equal(families(await reference.metrics(), names));
  });

  it("counts key events by type, as a labelled counter", async () => {
    const metrics = new ServiceMetrics(NO_KEYS);
    metrics.keyEvent("EXPIRED");
    metrics.keyEvent("EXPIRED");
    metrics.keyEvent("RELEASED");
    const text = await metrics.text();
    expect(text).to.include('token_key_events_total{type="EXPIRED"} 2');
    expect(text).to.include('token_key_events_total{type="RELEASED"} 1');
    expect(text).not.to.include('token_key_events_total{type="CREATED"}');
  });

  it("reads the same figures on every scrape (collecting does not reset them)", async () => {
    const metrics = new ServiceMetrics(NO_KEYS);
    metrics.forCall("/tokens.v1.TokenService/Get", "grpc", "unary").start();
    const first = await metrics.text();
    const second = await metrics.text();
    expect(first).to.include('grpc_server_started_total{grpc_type="unary",grpc_service="tokens.v1.TokenService",grpc_method="Get",transport="grpc"} 1');
    expect(families(second, ["grpc_server_started_total"])).to.deep.equal(families(first, ["grpc_server_started_total"]));
  });
});
