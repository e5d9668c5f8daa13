import { join, resolve } from "node:path";

/**
 * buf's own executable, found as @bufbuild/buf's `buf` script finds it (the platform's
 * package, one of its optional dependencies). Calling it directly skips the Node process
 * that script is, about a tenth of a second of CPU a call, and the test suites call buf
 * some thirty times. Where no package matches the platform by that name, the script.
 */
export function bufBinary(): string {
  const executable = process.platform === "win32" ? "buf.exe" : "buf";
  try {
    return require.resolve(`@bufbuild/buf-${process.platform}-${process.arch}/bin/${executable}`);
  } catch {
    return join(resolve(__dirname, ".."), "node_modules", ".bin", "buf");
  }
}
