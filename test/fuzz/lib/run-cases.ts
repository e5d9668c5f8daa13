/** Runs `work` over `items`, at most `concurrency` at a time, in order of start. */
export async function runConcurrently<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next] as T;
      next += 1;
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

/** A case that went wrong: which, what was sent, what came back, what is wrong with it. */
export interface Finding {
  readonly index: number;
  readonly sent: string;
  readonly received: string;
  readonly problems: readonly string[];
}

/** The failures of one run, reported together with the seed that makes them again. */
export class Findings {
  private readonly found: Finding[] = [];

  add(finding: Finding): void {
    this.found.push(finding);
  }

  get count(): number {
    return this.found.length;
  }

  /** The failure message: the first few cases in full, each with its replay line. */
  report(title: string, replay: (index: number) => string, shown = 5): string {
    const sorted = [...this.found].sort((a, b) => a.index - b.index);
    const lines = [`${title}: ${sorted.length} case(s) failed`];
    for (const finding of sorted.slice(0, shown)) {
      lines.push(
        "",
        `case ${finding.index} (replay: ${replay(finding.index)})`,
        ...finding.problems.map((problem) => `  problem: ${problem}`),
        `  sent: ${finding.sent}`,
        `  received: ${finding.received}`,
      );
    }
    if (sorted.length > shown) lines.push("", `… and ${sorted.length - shown} more: ${sorted.slice(shown, shown + 40).map((f) => f.index).join(", ")}`);
    return lines.join("\n");
  }
}
