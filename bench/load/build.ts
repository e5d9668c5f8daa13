/**
 * The service under test is the compiled one in dist/, as `npm start` runs it,
 * built by `npm run build` (the native TypeScript compiler: a few seconds, type
 * checks included) at the start of every run, smoke forms included, so that a
 * bench never measures a dist/ older than src/.
 */
import { spawnSync } from "node:child_process";
import { ROOT } from "./procs";

export function buildService(): void {
  const build = spawnSync("npm", ["run", "build"], { cwd: ROOT, stdio: ["ignore", "ignore", "inherit"] });
  if (build.status !== 0) throw new Error("npm run build failed");
}
