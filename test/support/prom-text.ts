/**
 * The Prometheus text exposition format, read back: one sample per non-comment line.
 * Enough for tests and benches that check which series a scrape holds and read a
 * value or two; label values may hold escaped quotes, commas and braces.
 */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?\s*/gy;

export function parseSamples(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const match = SAMPLE.exec(line);
    if (match === null) throw new Error(`not a sample line: ${line}`);
    const [, name = "", labelText = "", value = ""] = match;
    samples.push({ name, labels: parseLabels(labelText, line), value: Number(value) });
  }
  return samples;
}

function parseLabels(text: string, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  LABEL.lastIndex = 0;
  while (LABEL.lastIndex < text.length) {
    const at = LABEL.lastIndex;
    const match = LABEL.exec(text);
    if (match === null || match.index !== at) throw new Error(`bad labels in: ${line}`);
    labels[match[1] as string] = (match[2] as string).replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
  }
  return labels;
}

/** The value of the one sample named `name` (whose labels include `labels`); throws when absent. */
export function sampleValue(samples: readonly Sample[], name: string, labels: Readonly<Record<string, string>> = {}): number {
  const found = samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (found === undefined) throw new Error(`no sample ${name}${JSON.stringify(labels)} in the scrape`);
  return found.value;
}

/** Every metric name with at least one sample, and the label names its samples carry. */
export function labelsByMetric(samples: readonly Sample[]): Map<string, Set<string>> {
  const byName = new Map<string, Set<string>>();
  for (const sample of samples) {
    const labels = byName.get(sample.name) ?? new Set<string>();
    for (const label of Object.keys(sample.labels)) labels.add(label);
    byName.set(sample.name, labels);
  }
  return byName;
}
