/**
 * The bench's own server processes (baselines, storm server, REST variants)
 * run as plain JavaScript under plain `node`, exactly like the service
 * (`node dist/src/main.js`): no tsx loader hooks or source-map handling in a
 * process being measured. TypeScript's transpileModule turns each entry and
 * the local modules it requires into CommonJS under .tmp/bench-load/ (inside
 * the repo, so node_modules resolve; .tmp/ is git-ignored). Type-checking is
 * `npm run typecheck`'s job, not this one's.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import ts from "typescript";
import { ROOT } from "./procs";

const OUT = join(ROOT, ".tmp", "bench-load");
const compiled = new Map<string, string>();

/** The runnable .js for `entry` (a path from the repo root, e.g. "bench/load/baselines.ts"), compiled once per run. */
export function compiledServer(entry: string): string {
  const done = compiled.get(entry);
  if (done !== undefined) return done;
  const seen = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    const { outputText } = ts.transpileModule(readFileSync(join(ROOT, file), "utf8"), {
      fileName: file,
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
    });
    const out = join(OUT, file.replace(/\.ts$/, ".js"));
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, outputText);
    // Only value imports survive in the output: type-only ones (src/ types) are not followed.
    for (const match of outputText.matchAll(/require\("(\.{1,2}\/[^"]+)"\)/g)) visit(sourceOf(dirname(file), match[1] as string));
  };
  visit(entry);
  const path = join(OUT, entry.replace(/\.ts$/, ".js"));
  compiled.set(entry, path);
  return path;
}

function sourceOf(fromDir: string, specifier: string): string {
  const base = join(fromDir, specifier);
  for (const candidate of [`${base}.ts`, join(base, "index.ts")]) if (existsSync(join(ROOT, candidate))) return relative(ROOT, join(ROOT, candidate));
  throw new Error(`cannot find the source of ${specifier} (from ${fromDir})`);
}

export function removeCompiled(): void {
  rmSync(OUT, { recursive: true, force: true });
  compiled.clear();
}
