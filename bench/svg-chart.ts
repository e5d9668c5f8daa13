/** A small line chart as SVG (log-scale x), so the bench can draw its own figure without a plotting dependency. */
export interface Series {
  readonly name: string;
  readonly points: readonly (readonly [number, number])[];
}

const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"];

export function lineChart(title: string, xLabel: string, yLabel: string, series: readonly Series[]): string {
  const [width, height, left, right, top, bottom] = [720, 420, 70, 150, 40, 50];
  const xs = series.flatMap((s) => s.points.map(([x]) => Math.log10(x)));
  const ys = series.flatMap((s) => s.points.map(([, y]) => y));
  const [xMin, xMax] = [Math.min(...xs), Math.max(...xs)];
  const yMax = niceCeiling(Math.max(...ys));
  const px = (x: number): number => left + ((Math.log10(x) - xMin) / (xMax - xMin || 1)) * (width - left - right);
  const py = (y: number): number => height - bottom - (y / yMax) * (height - top - bottom);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="15">${escape(title)}</text>`,
    `<line x1="${left}" y1="${height - bottom}" x2="${width - right}" y2="${height - bottom}" stroke="black"/>`,
    `<line x1="${left}" y1="${top}" x2="${left}" y2="${height - bottom}" stroke="black"/>`,
    `<text x="${(left + width - right) / 2}" y="${height - 12}" text-anchor="middle">${escape(xLabel)}</text>`,
    `<text x="16" y="${(top + height - bottom) / 2}" text-anchor="middle" transform="rotate(-90 16 ${(top + height - bottom) / 2})">${escape(yLabel)}</text>`,
  ];
  for (let i = 0; i <= 4; i += 1) {
    const y = (yMax * i) / 4;
    parts.push(`<line x1="${left}" y1="${py(y)}" x2="${width - right}" y2="${py(y)}" stroke="#ddd"/>`);
    parts.push(`<text x="${left - 6}" y="${py(y) + 4}" text-anchor="end">${Math.round(y)}</text>`);
  }
  for (const x of [...new Set(series.flatMap((s) => s.points.map(([px0]) => px0)))]) {
    parts.push(`<text x="${px(x)}" y="${height - bottom + 16}" text-anchor="middle">${x.toExponential(0)}</text>`);
  }
  series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length] as string;
    const path = s.points.map(([x, y], j) => `${j === 0 ? "M" : "L"}${px(x).toFixed(1)},${py(y).toFixed(1)}`).join(" ");
    parts.push(`<path d="${path}" fill="none" stroke="${color}" stroke-width="2"/>`);
    for (const [x, y] of s.points) parts.push(`<circle cx="${px(x).toFixed(1)}" cy="${py(y).toFixed(1)}" r="3" fill="${color}"/>`);
    parts.push(`<text x="${width - right + 10}" y="${top + 16 * i + 10}" fill="${color}">${escape(s.name)}</text>`);
  });
  parts.push("</svg>");
  return parts.join("\n") + "\n";
}

function niceCeiling(value: number): number {
  const magnitude = 10 ** Math.floor(Math.log10(value || 1));
  return Math.ceil(value / magnitude) * magnitude;
}

function escape(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}
