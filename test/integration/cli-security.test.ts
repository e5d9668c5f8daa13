import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { generateTestCerts, type TestCerts } from "../support/certs";
import { buildFirst } from "../support/build";
import { runCli, runCliInProcess } from "../support/cli";
import { failedWith, okJson } from "../support/cli-output";
import { type Harness, startHarness } from "../support/harness";

/**
 * `token-orchestrator` against a server that asks for bearer tokens or speaks TLS, in-process
 * as cli.test.ts runs the commands. One TLS call runs as the bin's own process: the bin keeps
 * Node's warning about an IP address as a TLS server name off stderr, where scripts read errors.
 */
describe("token-orchestrator, the CLI, with tokens and TLS", function () {
  this.timeout(60_000);
  buildFirst();

  describe("with bearer tokens (AUTH_TOKENS_FILE)", () => {
    const CLIENT_TOKEN = "cli-client-token-4b9e02d7a1";
    const ADMIN_TOKEN = "cli-admin-token-7c31f5e8b6";
    const dir = mkdtempSync(join(tmpdir(), "tokens-cli-auth-"));
    const tokensFile = join(dir, "tokens");
    writeFileSync(tokensFile, `client ${CLIENT_TOKEN} cli-worker\nadmin ${ADMIN_TOKEN} cli-ops\n`);
    let h: Harness;
    before(async () => {
      h = await startHarness({ env: { AUTH_TOKENS_FILE: tokensFile } });
    });
    after(async () => {
      await h.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it("sends --token, or TOKEN_ORCHESTRATOR_TOKEN, --token winning", async () => {
      const address = h.app.grpcAddress;
      const { keyId } = okJson(await runCliInProcess(["create", "--address", address, "--token", ADMIN_TOKEN])) as { keyId: string };
      expect(okJson(await runCliInProcess(["get", keyId, "--address", address], { TOKEN_ORCHESTRATOR_TOKEN: CLIENT_TOKEN }))).to.have.property("state", "AVAILABLE");
      expect(okJson(await runCliInProcess(["delete", keyId, "--address", address, "--token", ADMIN_TOKEN], { TOKEN_ORCHESTRATOR_TOKEN: CLIENT_TOKEN }))).to.deep.equal({});
    });

    it("without a token, or with a wrong one: UNAUTHENTICATED, exit 1; the token is never printed", async () => {
      const address = h.app.grpcAddress;
      failedWith(await runCliInProcess(["stats", "--address", address]), "UNAUTHENTICATED: a valid bearer token is required");
      const wrong = `${ADMIN_TOKEN}-wrong`;
      failedWith(await runCliInProcess(["stats", "--address", address, "--token", wrong]), "UNAUTHENTICATED: a valid bearer token is required");
      failedWith(await runCliInProcess(["stats", "--address", address], { TOKEN_ORCHESTRATOR_TOKEN: wrong }), "UNAUTHENTICATED: a valid bearer token is required");
    });

    it("a client token calling an admin method: PERMISSION_DENIED, exit 1", async () => {
      failedWith(await runCliInProcess(["create", "--address", h.app.grpcAddress, "--token", CLIENT_TOKEN]), "PERMISSION_DENIED: the client role may not call this method");
      failedWith(await runCliInProcess(["watch", "--address", h.app.grpcAddress, "--token", CLIENT_TOKEN]), "PERMISSION_DENIED: the client role may not call this method");
    });
  });

  describe("over TLS", () => {
    let certs: TestCerts;
    before(async () => {
      certs = await generateTestCerts();
    });
    after(() => certs.remove());

    it("--tls-ca trusts the server's CA; plaintext or another CA fails with UNAVAILABLE, exit 1", async () => {
      const h = await startHarness({ env: { TLS_CERT_FILE: certs.server.certPath, TLS_KEY_FILE: certs.server.keyPath } });
      try {
        const address = h.app.grpcAddress;
        const created = okJson(await runCli(["create", "--address", address, "--tls-ca", certs.ca.certPath])); // okJson: stderr empty
        expect(okJson(await runCliInProcess(["get", String(created["keyId"]), "--address", address, "--tls-ca", certs.ca.certPath]))).to.have.property("state", "AVAILABLE");
        failedWith(await runCliInProcess(["stats", "--address", address, "--timeout", "5s"]), /^UNAVAILABLE: .+\n$/);
        failedWith(await runCliInProcess(["stats", "--address", address, "--timeout", "5s", "--tls-ca", certs.otherCa.certPath]), /^UNAVAILABLE: .+\n$/);
      } finally {
        await h.close();
      }
    });

    it("--tls-cert and --tls-key present a client certificate to a server that asks for one (mutual TLS)", async () => {
      const h = await startHarness({
        env: { TLS_CERT_FILE: certs.server.certPath, TLS_KEY_FILE: certs.server.keyPath, TLS_CLIENT_CA_FILE: certs.ca.certPath },
      });
      try {
        const tls = ["--address", h.app.grpcAddress, "--tls-ca", certs.ca.certPath];
        expect(okJson(await runCliInProcess(["stats", ...tls, "--tls-cert", certs.client.certPath, "--tls-key", certs.client.keyPath]))).to.have.property("total", 0);
        failedWith(await runCliInProcess(["stats", ...tls, "--timeout", "5s"]), /^UNAVAILABLE: .*certificate required.*\n$/);
      } finally {
        await h.close();
      }
    });
  });
});
