// The end of `npm run build` (and so of `npm install`'s prepare): what tsc does not do.
const fs = require("node:fs");

// The Lua scripts travel beside the compiled Redis store, which reads them at start.
fs.cpSync("src/store/redis/lua", "dist/src/store/redis/lua", { recursive: true });
// package.json's bin must be executable for npx and for a global install.
fs.chmodSync("dist/src/cli/main.js", 0o755);
// A finished build's mark: the CLI's tests run dist/ and build it only when this mark is
// older than a source (test/support/cli.ts), so the build `npm install` made is not made twice.
fs.mkdirSync(".tmp", { recursive: true });
fs.writeFileSync(".tmp/build.done", "");
