/**
 * What a PromQL expression refers to, read from its text: the metric names it selects
 * and the labels each `by (...)` clause groups on, with the metrics that clause
 * aggregates. Not a PromQL parser: enough of the grammar (strings, selectors, ranges,
 * grouping clauses, function calls) to check a dashboard against a real scrape.
 */

/** PromQL functions and aggregation operators: identifiers that are never metric names. */
const FUNCTIONS = new Set([
  "abs", "absent", "absent_over_time", "acos", "acosh", "asin", "asinh", "atan", "atanh", "avg", "avg_over_time",
  "bottomk", "ceil", "changes", "clamp", "clamp_max", "clamp_min", "cos", "cosh", "count", "count_over_time",
  "count_values", "day_of_month", "day_of_week", "day_of_year", "days_in_month", "deg", "delta", "deriv", "exp",
  "floor", "group", "histogram_avg", "histogram_count", "histogram_fraction", "histogram_quantile", "histogram_stddev",
  "histogram_stdvar", "histogram_sum", "holt_winters", "hour", "idelta", "increase", "irate", "label_join",
  "label_replace", "last_over_time", "limitk", "limit_ratio", "ln", "log10", "log2", "mad_over_time", "max",
  "max_over_time", "min", "min_over_time", "minute", "month", "pi", "predict_linear", "present_over_time", "quantile",
  "quantile_over_time", "rad", "rate", "resets", "round", "scalar", "sgn", "sin", "sinh", "sort", "sort_by_label",
  "sort_by_label_desc", "sort_desc", "sqrt", "stddev", "stddev_over_time", "stdvar", "stdvar_over_time", "sum",
  "sum_over_time", "tan", "tanh", "time", "timestamp", "topk", "vector", "year",
]);

/** Keywords and modifiers; `le` and other label names only ever appear inside clauses removed before the scan. */
const KEYWORDS = new Set(["by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "offset", "start", "end", "inf", "nan"]);

const STRING = /"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g;
const SELECTOR = /\{[^{}]*\}/g;
const RANGE = /\[[^[\]]*\]/g;
const CLAUSE = /\b(by|without|on|ignoring|group_left|group_right)\s*\(([^()]*)\)/g;
const IDENTIFIER = /(?<![\w:.$])[a-zA-Z_:][\w:]*(?![\w:])/g;

export interface Grouping {
  /** The labels of a `by (...)` clause. */
  readonly labels: readonly string[];
  /** The metrics inside the aggregation it belongs to. */
  readonly metrics: readonly string[];
}

/** Strings, label matchers and ranges removed: what is left is names, operators, calls and clauses. */
function skeleton(expr: string): string {
  return expr.replace(STRING, '""').replace(SELECTOR, " ").replace(RANGE, " ");
}

/** The metric names `expr` selects, each once, in order of appearance. */
export function metricNames(expr: string): string[] {
  const bare = skeleton(expr).replace(CLAUSE, " ");
  const names: string[] = [];
  for (const match of bare.matchAll(IDENTIFIER)) {
    const name = match[0];
    const after = bare.slice((match.index ?? 0) + name.length).trimStart();
    if (after.startsWith("(") || FUNCTIONS.has(name) || KEYWORDS.has(name)) continue;
    if (!names.includes(name)) names.push(name);
  }
  return names;
}

/** Every `by (...)` clause of `expr`, with the metrics of the aggregation it groups (`sum by (l) (x)` or `sum (x) by (l)`). */
export function groupings(expr: string): Grouping[] {
  const bare = skeleton(expr);
  const found: Grouping[] = [];
  for (const match of bare.matchAll(CLAUSE)) {
    if (match[1] !== "by") continue;
    const start = match.index ?? 0;
    const end = start + match[0].length;
    const labels = (match[2] ?? "").split(",").map((label) => label.trim()).filter((label) => label !== "");
    const argument = bare.slice(end).trimStart().startsWith("(") ? groupAfter(bare, bare.indexOf("(", end)) : groupBefore(bare, start);
    found.push({ labels, metrics: metricNames(argument) });
  }
  return found;
}

/** The balanced parenthesised text opening at `open`. */
function groupAfter(text: string, open: number): string {
  let depth = 0;
  for (let at = open; at < text.length; at += 1) {
    if (text[at] === "(") depth += 1;
    if (text[at] === ")" && --depth === 0) return text.slice(open, at + 1);
  }
  throw new Error(`unbalanced parentheses in: ${text}`);
}

/** The balanced parenthesised text that closes just before `before` (skipping spaces). */
function groupBefore(text: string, before: number): string {
  let close = before - 1;
  while (close >= 0 && /\s/.test(text[close] ?? "")) close -= 1;
  if (text[close] !== ")") throw new Error(`a by clause follows no aggregation in: ${text}`);
  let depth = 0;
  for (let at = close; at >= 0; at -= 1) {
    if (text[at] === ")") depth += 1;
    if (text[at] === "(" && --depth === 0) return text.slice(at, close + 1);
  }
  throw new Error(`unbalanced parentheses in: ${text}`);
}
