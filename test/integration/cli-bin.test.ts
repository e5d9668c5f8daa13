import { accessSync, constants, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { buildFirst, CLI_MAIN } from "../support/build";
import { cliEnv, runCli, runCliInProcess } from "../support/cli";
import { okJson } from "../support/cli-output";
import { startHarness } from "../support/harness";
import { ROOT, run } from "../support/run";

/**
 * `token-orchestrator` as a user meets it before any call, run as the process it is: its
 * help, its version, a usage error's exit status, the package.json `bin` and `npx` (each
 * command's own help in-process; cli.test.ts runs the commands).
 */
describe("token-orchestrator, the CLI, as installed", function () {
  this.timeout(60_000);
  buildFirst();

  describe("help and version", () => {
    it("--help (and -h, and help) lists every command and every global option, on stdout, exit 0", async () => {
      const result = await runCli(["--help"]);
      expect(result.code).to.equal(0);
      expect(result.stderr).to.equal("");
      for (const command of ["create", "acquire", "get KEY_ID", "release KEY_ID", "keepalive KEY_ID", "delete KEY_ID", "stats", "list", "watch"]) {
        expect(result.stdout).to.match(new RegExp(`^  ${command} +\\S`, "m"), command);
      }
      for (const option of ["--address HOST:PORT", "--token TOKEN", "--tls ", "--tls-ca FILE", "--tls-cert FILE", "--tls-key FILE", "--timeout DURATION", "-h, --help", "--version"]) {
        expect(result.stdout).to.contain(`  ${option}`);
      }
      expect(result.stdout).to.contain("  2  usage error");
      // The other spellings, through the function the bin calls (a process each would add nothing).
      for (const args of [["-h"], ["help"]]) expect(await runCliInProcess(args), args[0]).to.deep.equal(result);
    });

    it("COMMAND --help and help COMMAND show the command's own options, even without its operands", async () => {
      const own: Readonly<Record<string, readonly string[]>> = {
        create: ["--ttl DURATION"],
        acquire: ["--block-ttl DURATION", "--wait DURATION"],
        get: [],
        release: ["--lease N", "--cooldown DURATION"],
        keepalive: ["--lease N"],
        delete: [],
        stats: [],
        list: ["--page-size N", "--page-token TOKEN", "--state STATE", "--all"],
        watch: ["--start-revision N"],
      };
      for (const [command, options] of Object.entries(own)) {
        const result = await runCliInProcess([command, "--help"]);
        expect(result.code, command).to.equal(0);
        expect(result.stdout).to.match(new RegExp(`^Usage: token-orchestrator ${command}\\b`));
        for (const option of options) expect(result.stdout, `${command} ${option}`).to.contain(`  ${option}`);
        expect(result.stdout).to.contain("  --address HOST:PORT");
      }
      expect((await runCliInProcess(["help", "release"])).stdout).to.equal((await runCliInProcess(["release", "--help"])).stdout);
    });

    it("--version prints package.json's version", async () => {
      const { version } = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string };
      expect(await runCli(["--version"])).to.deep.equal({ code: 0, stdout: `${version}\n`, stderr: "" });
    });

    it("a usage error is the process's exit status 2, as the in-process runs return it", async () => {
      const result = await runCli(["get"]);
      expect(result).to.deep.equal({ code: 2, stdout: "", stderr: "token-orchestrator: get takes KEY_ID, got none\nRun 'token-orchestrator get --help' for usage.\n" });
      expect(result).to.deep.equal(await runCliInProcess(["get"]));
    });
  });

  describe("as installed: package.json bin", () => {
    it("is dist/src/cli/main.js, executable, with a node shebang", () => {
      const { bin } = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { bin: Record<string, string> };
      expect(bin).to.deep.equal({ "token-orchestrator": "dist/src/cli/main.js" });
      expect(join(ROOT, bin["token-orchestrator"] as string)).to.equal(CLI_MAIN);
      expect(readFileSync(CLI_MAIN, "utf8").split("\n", 1)[0]).to.equal("#!/usr/bin/env node");
      accessSync(CLI_MAIN, constants.X_OK);
    });

    it("runs as `npx token-orchestrator` from the repository (offline, with a cache of its own)", async function () {
      this.timeout(120_000);
      const h = await startHarness();
      const cache = mkdtempSync(join(tmpdir(), "tokens-cli-npx-"));
      try {
        // offline: npx must find the package's own bin, never fetch a package of that name.
        // Without its scripts: npx links the repository into its cache and would run
        // `prepare` (a whole build, 10 s of CPU) into the dist/ other test workers are
        // running; buildFirst has built it already.
        const env = cliEnv({ npm_config_cache: cache, npm_config_offline: "true", npm_config_update_notifier: "false", npm_config_ignore_scripts: "true" });
        const result = await run("npx", ["token-orchestrator", "create", "--address", h.app.grpcAddress, "--ttl", "10m"], { env, timeoutMs: 110_000 });
        expect(okJson(result)).to.have.property("ttl", "600s");
        expect((await h.client.stats({})).total).to.equal(1);
      } finally {
        await h.close();
        rmSync(cache, { recursive: true, force: true });
      }
    });
  });
});
