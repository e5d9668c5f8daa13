/**
 * A V8 CPU profile (.cpuprofile, from `node --cpu-prof`) as self time by layer and the
 * hottest functions: what bench:profile prints. Also runnable on any profile:
 *   node --import tsx bench/profile-summary.ts FILE.cpuprofile
 */
import { readFileSync } from "node:fs";
import { relative } from "node:path";
import { ROOT } from "./load/procs";

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
}
interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** The layer a frame belongs to, by its script's URL. */
function layerOf(node: ProfileNode): string {
  const { url, functionName } = node.callFrame;
  if (functionName === "(garbage collector)") return "GC";
  if (functionName === "(idle)" || functionName === "(program)") return functionName.slice(1, -1);
  if (url.includes("@grpc/grpc-js")) return "grpc-js";
  if (url.includes("@bufbuild/protobuf")) return "protobuf-es";
  if (url.includes("node_modules/pino") || url.includes("thread-stream") || url.includes("sonic-boom")) return "pino";
  if (url.includes("prom-client")) return "prom-client";
  if (url.includes("/node_modules/")) return `other npm (${url.split("/node_modules/").pop()?.split("/")[0] ?? "?"})`;
  if (url.includes("/dist/src/") || url.includes("/bench/")) return "service / baseline code";
  if (url.startsWith("node:internal/http2") || url.includes("internal/http2")) return "node http2";
  if (url.includes("internal/") && (url.includes("http") || url.includes("_http"))) return "node http";
  if (url.startsWith("node:") || url === "") return functionName === "" ? "native / unnamed" : "node other";
  return "other";
}

export function summarize(file: string, label: string, lastSeconds = Infinity, top = 15): string[] {
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map<number, number>();
  let total = 0;
  // Only the samples of the profile's last `lastSeconds` (the load, not the fill before it).
  const end = profile.timeDeltas.reduce((sum, delta) => sum + delta, 0);
  let at = 0;
  profile.samples.forEach((id, index) => {
    const delta = profile.timeDeltas[index] ?? 0;
    at += delta;
    if (end - at > lastSeconds * 1e6) return;
    self.set(id, (self.get(id) ?? 0) + delta);
    total += delta;
  });
  const layers = new Map<string, number>();
  const functions = new Map<string, number>();
  for (const [id, us] of self) {
    const node = byId.get(id) as ProfileNode;
    const layer = layerOf(node);
    layers.set(layer, (layers.get(layer) ?? 0) + us);
    const where = node.callFrame.url === "" ? "" : ` ${relative(ROOT, node.callFrame.url.replace(/^file:\/\//, "")).replace(/^node_modules\//, "")}:${node.callFrame.lineNumber + 1}`;
    const name = `${node.callFrame.functionName || "(anonymous)"}${where}`;
    functions.set(name, (functions.get(name) ?? 0) + us);
  }
  const busy = total - (layers.get("idle") ?? 0);
  const pct = (us: number): string => `${((100 * us) / busy).toFixed(1).padStart(5)}%`;
  const lines = [`${label}: ${(busy / 1e6).toFixed(2)} s busy of ${(total / 1e6).toFixed(2)} s profiled; self time by layer (share of busy time):`];
  for (const [layer, us] of [...layers].filter(([layer]) => layer !== "idle").sort((a, b) => b[1] - a[1])) lines.push(`  ${pct(us)}  ${layer}`);
  lines.push("  hottest functions:");
  for (const [name, us] of [...functions].filter(([name]) => !name.startsWith("(idle)")).sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`  ${pct(us)}  ${name}`);
  return lines;
}


if (require.main === module) {
  for (const file of process.argv.slice(2)) console.log(summarize(file, file).join("\n"));
}
