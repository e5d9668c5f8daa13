import { expect } from "chai";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Code, type ServiceError } from "../../clients";
import { dashboardProblems, dashboardQueries } from "../support/dashboard-check";
import { startHarness, type Harness } from "../support/harness";
import { httpRequest } from "../support/http-request";
import { labelsByMetric, parseSamples, type Sample } from "../support/prom-text";
import { groupings, metricNames } from "../support/promql-refs";
import { ROOT } from "../support/run";

const DASHBOARD_PATH = join(ROOT, "deploy", "grafana", "token-orchestrator.json");
const loadDashboard = (): Record<string, unknown> => JSON.parse(readFileSync(DASHBOARD_PATH, "utf8")) as Record<string, unknown>;

/** What the dashboard must chart (issue #9): calls, errors, latency, keys, key events, streams, process. */
const REQUIRED_METRICS = [
  "grpc_server_started_total",
  "grpc_server_handled_total",
  "grpc_server_handling_seconds_bucket",
  "token_keys",
  "token_key_events_total",
  "process_resident_memory_bytes",
  "nodejs_eventloop_lag_p99_seconds",
  "nodejs_heap_size_used_bytes",
  "process_open_fds",
];

interface Panel {
  readonly id: number;
  readonly type: string;
  readonly title: string;
  readonly datasource?: { readonly type: string; readonly uid: string };
  readonly gridPos: { readonly h: number; readonly w: number; readonly x: number; readonly y: number };
  readonly targets?: readonly { readonly datasource?: { readonly uid: string } }[];
}

/** One or more calls of every kind, on both transports, an error and both stream kinds: every labelled series the dashboard reads exists. */
async function exercise(h: Harness): Promise<void> {
  const { client } = h;
  const watching = new AbortController();
  const watch = (async () => {
    for await (const event of client.watch({}, { signal: watching.signal })) return event;
    return undefined;
  })();
  const { keyId } = await client.create({});
  await watch;
  const held = await client.acquire({});
  await client.get({ keyId });
  await client.keepAlive({ keyId, lease: held.lease });
  await client.release({ keyId, lease: held.lease });
  await client.stats({});
  await client.list({});
  const missing = await client.get({ keyId: "no-such-key" }).catch((error: ServiceError) => error.code);
  expect(missing).to.equal(Code.NOT_FOUND);
  const session = client.keepAliveStream();
  await session.renew({ keyId });
  session.end();
  await client.delete({ keyId });
  const rest = h.app.httpAddress;
  expect((await httpRequest(rest, "/keys", { method: "POST", body: "{}", headers: { "content-type": "application/json" } })).status).to.equal(201);
  expect((await httpRequest(rest, "/keys")).status).to.equal(200);
  expect((await httpRequest(rest, "/keys/no-such-key")).status).to.equal(404);
  watching.abort();
}

/** Scrapes until both stream methods have finished series (a stream's end reaches the server after the client's). */
async function scrapeAfterStreamsEnd(h: Harness): Promise<Sample[]> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const samples = parseSamples((await httpRequest(h.app.httpAddress, "/metrics")).text);
    const ended = (method: string) => samples.some((s) => s.name === "grpc_server_handled_total" && s.labels["grpc_method"] === method);
    if ((ended("Watch") && ended("KeepAliveStream")) || Date.now() > deadline) return samples;
    await new Promise((resolve) => setImmediate(resolve));
  }
}

describe("Grafana dashboard (deploy/grafana/token-orchestrator.json)", function () {
  this.timeout(20_000);
  let h: Harness;
  let scraped: Map<string, Set<string>>;

  before(async () => {
    h = await startHarness();
    await exercise(h);
    scraped = labelsByMetric(await scrapeAfterStreamsEnd(h));
  });

  after(async () => {
    await h?.close();
  });

  it("is an importable dashboard: schema 39, a DS_PROMETHEUS input used by every panel, instance and data-source variables", () => {
    const dashboard = loadDashboard();
    expect(dashboard["schemaVersion"]).to.equal(39);
    expect(dashboard["uid"]).to.equal("token-orchestrator");
    expect(dashboard["__inputs"]).to.deep.include({
      name: "DS_PROMETHEUS",
      label: "Prometheus",
      description: "The Prometheus that scrapes the service's GET /metrics.",
      type: "datasource",
      pluginId: "prometheus",
      pluginName: "Prometheus",
    });
    const variables = (dashboard["templating"] as { list: { name: string; type: string }[] }).list;
    expect(variables.map((v) => `${v.name}:${v.type}`)).to.deep.equal(["DS_PROMETHEUS:datasource", "instance:query"]);
    const panels = dashboard["panels"] as Panel[];
    expect(new Set(panels.map((p) => p.id)).size, "unique panel ids").to.equal(panels.length);
    for (const panel of panels) {
      expect(panel.gridPos.x + panel.gridPos.w, `${panel.title} fits the 24-column grid`).to.be.at.most(24);
      if (panel.type === "row") continue;
      expect(panel.datasource?.uid, panel.title).to.equal("${DS_PROMETHEUS}");
      expect(panel.targets, panel.title).to.have.length.above(0);
      for (const target of panel.targets ?? []) expect(target.datasource?.uid, panel.title).to.equal("${DS_PROMETHEUS}");
    }
    for (const { where, expr } of dashboardQueries(dashboard)) {
      if (where.startsWith("panel")) expect(expr, where).to.include('instance=~"$instance"');
    }
  });

  it("charts calls, errors, latency, keys by state, key events, open streams and the process", () => {
    const used = new Set(dashboardQueries(loadDashboard()).flatMap(({ expr }) => metricNames(expr)));
    expect([...used]).to.include.members(REQUIRED_METRICS);
    const exprs = dashboardQueries(loadDashboard()).map(({ expr }) => expr);
    for (const quantile of ["0.5", "0.99"]) {
      expect(exprs.some((e) => e.startsWith(`histogram_quantile(${quantile}, sum by (le, grpc_method) (rate(grpc_server_handling_seconds_bucket`))).to.equal(true);
    }
  });

  it("queries only metrics with samples in a real scrape, grouped only by labels those metrics carry", () => {
    expect(dashboardProblems(loadDashboard(), scraped)).to.deep.equal([]);
  });

  it("the check fails a dashboard that queries a made-up metric", () => {
    const dashboard = loadDashboard();
    const panels = dashboard["panels"] as Record<string, unknown>[];
    panels.push({ id: 999, type: "timeseries", title: "made up", targets: [{ refId: "A", expr: 'sum(rate(token_made_up_total{instance=~"$instance"}[$__rate_interval]))' }] });
    expect(dashboardProblems(dashboard, scraped)).to.deep.equal(['panel "made up" A: token_made_up_total is not in the scrape']);
  });

  it("the check fails a by clause on a label the metric does not carry, and a made-up variable query", () => {
    const dashboard = loadDashboard();
    const panels = dashboard["panels"] as Record<string, unknown>[];
    panels.push({ id: 998, type: "timeseries", title: "bad label", targets: [{ refId: "B", expr: "sum by (grpc_code) (rate(grpc_server_started_total[5m]))" }] });
    (dashboard["templating"] as { list: Record<string, unknown>[] }).list.push({ name: "bogus", type: "query", query: "label_values(token_nothing, instance)" });
    expect(dashboardProblems(dashboard, scraped)).to.deep.equal([
      'panel "bad label" B: grpc_server_started_total has no label grpc_code (by clause)',
      'variable "bogus": token_nothing is not in the scrape',
    ]);
  });
});

describe("PromQL references", () => {
  it("names the metrics, never functions, keywords, labels, strings, durations or variables", () => {
    expect(
      metricNames(
        'histogram_quantile(0.99, sum by (le, grpc_method) (rate(grpc_server_handling_seconds_bucket{grpc_type="unary", x=~"a(b) c"}[$__rate_interval])))',
      ),
    ).to.deep.equal(["grpc_server_handling_seconds_bucket"]);
    expect(metricNames("sum(a_total) - (sum(b_total offset 5m) or vector(0)) / ignoring(grpc_code) group_left c:recorded")).to.deep.equal(["a_total", "b_total", "c:recorded"]);
    expect(metricNames("max without (state) (token_keys) > bool 1e3 and on (instance) up")).to.deep.equal(["token_keys", "up"]);
    expect(metricNames("topk(5, rate(x_total[5m:1m]))")).to.deep.equal(["x_total"]);
  });

  it("scopes each by clause to its aggregation, whether the clause comes before or after it", () => {
    expect(groupings("sum by (a, b) (rate(m1[5m])) / sum(m2) by (c)")).to.deep.equal([
      { labels: ["a", "b"], metrics: ["m1"] },
      { labels: ["c"], metrics: ["m2"] },
    ]);
    expect(groupings("histogram_quantile(0.5, sum by (le) (rate(h_bucket[1m])))")).to.deep.equal([{ labels: ["le"], metrics: ["h_bucket"] }]);
    expect(groupings("sum without (x) (m)")).to.deep.equal([]);
  });
});
