/**
 * The service under test is the compiled one in dist/, as `npm start` runs it.
 * A full run builds it with `npm run build` (tsc, type-checking included). The
 * smoke form only needs dist/ to exist and match src/, and tsc's type-check is
 * most of the smoke's wall time, so it transpiles the same files instead, file
 * by file: the project sets `isolatedModules`, which is TypeScript's promise that
 * per-file transpilation emits what tsc emits. Type errors are `npm test`'s
 * typecheck step's business, which runs before the smoke anyway.
 */
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import ts from "typescript";
import { ROOT } from "./procs";

export function buildService(typeCheck: boolean): void {
  if (typeCheck) {
    const build = spawnSync("npm", ["run", "build"], { cwd: ROOT, stdio: ["ignore", "ignore", "inherit"] });
    if (build.status !== 0) throw new Error("npm run build failed");
    return;
  }
  const parsed = ts.getParsedCommandLineOfConfigFile(join(ROOT, "tsconfig.build.json"), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => fail(d) });
  if (parsed === undefined) throw new Error("cannot read tsconfig.build.json");
  const outDir = parsed.options.outDir ?? join(ROOT, "dist");
  // package.json has no "type": tsc's nodenext emits CommonJS here; a lone file cannot know that, so say it.
  const options: ts.CompilerOptions = { ...parsed.options, module: ts.ModuleKind.CommonJS, moduleResolution: ts.ModuleResolutionKind.Node10, declaration: false, sourceMap: false };
  for (const file of parsed.fileNames.filter((name) => name.endsWith(".ts") && !name.endsWith(".d.ts"))) {
    const { outputText } = ts.transpileModule(ts.sys.readFile(file) ?? "", { fileName: file, compilerOptions: options });
    const out = join(outDir, relative(ROOT, file).replace(/\.ts$/, ".js"));
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, outputText);
  }
  // What `npm run build` copies besides the JavaScript.
  cpSync(join(ROOT, "src", "store", "redis", "lua"), join(outDir, "src", "store", "redis", "lua"), { recursive: true });
}

function fail(diagnostic: ts.Diagnostic): never {
  throw new Error(`tsconfig.build.json: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, "\n")}`);
}
