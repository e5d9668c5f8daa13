import { groupings, metricNames } from "./promql-refs";

/**
 * Checks a Grafana dashboard's queries against a real scrape: every metric a panel's
 * `expr` (or a variable's `label_values(...)`) selects must have samples in it, and
 * every label a `by (...)` clause groups on must be on the metrics it aggregates.
 * `instance` and `job` are exempt as labels: Prometheus adds them when it scrapes.
 */
export const TARGET_LABELS: ReadonlySet<string> = new Set(["instance", "job"]);

export interface DashboardQuery {
  /** Where it is, for messages: the panel's title and the target's refId, or the variable's name. */
  readonly where: string;
  readonly expr: string;
}

interface PanelLike {
  readonly title?: unknown;
  readonly panels?: unknown;
  readonly targets?: unknown;
}

/** Every query of the dashboard: panel targets (rows' nested panels included) and query variables. */
export function dashboardQueries(dashboard: unknown): DashboardQuery[] {
  const queries: DashboardQuery[] = [];
  const visit = (panels: unknown): void => {
    if (!Array.isArray(panels)) return;
    for (const panel of panels as PanelLike[]) {
      visit(panel.panels);
      if (!Array.isArray(panel.targets)) continue;
      for (const target of panel.targets as { refId?: unknown; expr?: unknown }[]) {
        if (typeof target.expr === "string") queries.push({ where: `panel "${String(panel.title)}" ${String(target.refId)}`, expr: target.expr });
      }
    }
  };
  const root = dashboard as { panels?: unknown; templating?: { list?: unknown } };
  visit(root.panels);
  const variables = Array.isArray(root.templating?.list) ? (root.templating.list as { name?: unknown; type?: unknown; query?: unknown }[]) : [];
  for (const variable of variables) {
    if (variable.type !== "query") continue;
    const query = typeof variable.query === "string" ? variable.query : (variable.query as { query?: unknown } | undefined)?.query;
    if (typeof query === "string") queries.push({ where: `variable "${String(variable.name)}"`, expr: query });
  }
  return queries;
}

/** Grafana's `label_values(metric, label)` → the metric and the label; a plain PromQL expression otherwise. */
function refsOf(expr: string): { metrics: string[]; groups: { labels: readonly string[]; metrics: readonly string[] }[] } {
  const labelValues = /^\s*label_values\(\s*([a-zA-Z_:][\w:]*)\s*(?:\{[^}]*\})?\s*,\s*([a-zA-Z_]\w*)\s*\)\s*$/.exec(expr);
  if (labelValues !== null) {
    const metric = labelValues[1] as string;
    return { metrics: [metric], groups: [{ labels: [labelValues[2] as string], metrics: [metric] }] };
  }
  return { metrics: metricNames(expr), groups: groupings(expr) };
}

/** What is wrong with the dashboard against `labels` (metric name → its samples' label names); empty when nothing is. */
export function dashboardProblems(dashboard: unknown, labels: ReadonlyMap<string, ReadonlySet<string>>): string[] {
  const problems: string[] = [];
  for (const { where, expr } of dashboardQueries(dashboard)) {
    const refs = refsOf(expr);
    if (refs.metrics.length === 0) problems.push(`${where}: no metric name found in ${expr}`);
    for (const metric of refs.metrics) if (!labels.has(metric)) problems.push(`${where}: ${metric} is not in the scrape`);
    for (const group of refs.groups) {
      for (const label of group.labels) {
        if (TARGET_LABELS.has(label)) continue;
        for (const metric of group.metrics) {
          const has = labels.get(metric);
          if (has !== undefined && !has.has(label)) problems.push(`${where}: ${metric} has no label ${label} (by clause)`);
        }
      }
    }
  }
  return problems;
}
