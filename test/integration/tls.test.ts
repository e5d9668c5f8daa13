import { writeFileSync } from "node:fs";
import https from "node:https";
import { join } from "node:path";
import { expect } from "chai";
import { Code, createTokenClient, type ServiceError, type TlsOptions, type TokenClient } from "../../clients";
import { buildFirst } from "../support/build";
import { generateTestCerts, type TestCerts } from "../support/certs";
import { codeOf } from "../support/grpc-code";
import { startHarness, type Harness } from "../support/harness";
import { httpRequest } from "../support/http-request";
import { ManualClock } from "../support/manual-clock";
import { startServiceProcess } from "../support/process";
import { BUF, run, type RunResult } from "../support/run";

/**
 * TLS and mutual TLS on both ports, from TLS_CERT_FILE, TLS_KEY_FILE and
 * TLS_CLIENT_CA_FILE, with certificates this file makes for itself: the typed
 * client, node:https and buf curl (a Go client) succeed when trusted and trusting,
 * and are refused at the handshake when not.
 */

const ADMIN_TOKEN = "admin-secret-token-3e7b1d90c4";
const START = Date.UTC(2026, 10, 25, 14, 3, 7, 123);

interface HttpsResponse {
  readonly status: number;
  readonly body: unknown;
}

/** One request over HTTPS (no agent: every request makes its own handshake). */
function httpsRequest(address: string, path: string, tls: TlsOptions, options: { method?: string; token?: string } = {}): Promise<HttpsResponse> {
  const colon = address.lastIndexOf(":");
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: address.slice(0, colon),
        port: Number(address.slice(colon + 1)),
        path,
        method: options.method ?? "GET",
        headers: options.token === undefined ? {} : { authorization: `Bearer ${options.token}` },
        agent: false,
        ...tls,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("error", reject);
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString("utf8")) as unknown }));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

/** Awaits a gRPC call that must fail and returns its error. */
async function failureOf(call: Promise<unknown>): Promise<ServiceError> {
  try {
    await call;
  } catch (error) {
    return error as ServiceError;
  }
  throw new Error("expected the call to fail");
}

/** Awaits a request that must fail and returns its error's code. */
async function errorCodeOf(request: Promise<unknown>): Promise<string> {
  try {
    await request;
  } catch (error) {
    return String((error as { code?: unknown }).code);
  }
  throw new Error("expected the request to fail");
}

/** `buf curl --protocol grpc` trusting the test CA; `args` may hold URL, which becomes https://localhost:PORT (the DNS name). */
function bufCurl(grpcAddress: string, certs: TestCerts, args: readonly string[]): Promise<RunResult> {
  const url = `https://localhost:${grpcAddress.slice(grpcAddress.lastIndexOf(":") + 1)}`;
  return run(BUF, ["curl", "--protocol", "grpc", "--cacert", certs.ca.certPath, ...args.map((arg) => arg.replace(/^URL/, url))]);
}

describe("TLS and mutual TLS on both transports", function () {
  this.timeout(30_000);
  let certs: TestCerts;
  before(async () => {
    certs = await generateTestCerts();
  });
  after(() => certs.remove());

  const tlsEnv = (): Record<string, string> => ({ TLS_CERT_FILE: certs.server.certPath, TLS_KEY_FILE: certs.server.keyPath });

  /** Runs `use` with a typed client for `address`, and closes the client whatever happens. */
  const withClient = async <T>(address: string, options: Parameters<typeof createTokenClient>[1], use: (client: TokenClient) => Promise<T>): Promise<T> => {
    const client = createTokenClient(address, options);
    try {
      return await use(client);
    } finally {
      client.close();
    }
  };

  describe("TLS (TLS_CERT_FILE, TLS_KEY_FILE)", () => {
    let h: Harness;
    before(async () => {
      h = await startHarness({ clock: new ManualClock(START), env: tlsEnv() });
    });
    after(() => h.close());

    it("serves gRPC to the typed client given the CA; a plaintext client, or one that does not trust the CA, gets UNAVAILABLE", async () => {
      await withClient(h.app.grpcAddress, { tls: { ca: certs.ca.cert } }, async (client) => {
        const { keyId } = await client.create({});
        expect(await client.get({ keyId })).to.deep.include({ isBlocked: false });
      });
      // h.client is the harness's plaintext client.
      expect(await codeOf(h.client.create({}, { timeoutMs: 5_000 }))).to.equal(Code.UNAVAILABLE);
      await withClient(h.app.grpcAddress, { tls: { ca: certs.otherCa.cert } }, async (client) => {
        expect(await codeOf(client.create({}, { timeoutMs: 5_000 }))).to.equal(Code.UNAVAILABLE);
      });
    });

    it("serves REST over HTTPS to node:https given the CA (GET /healthz, POST /keys, GET /keys/{id}); a plain http:// request fails", async () => {
      const tls = { ca: certs.ca.cert };
      expect(await httpsRequest(h.app.httpAddress, "/healthz", tls)).to.deep.equal({ status: 200, body: { status: "SERVING" } });
      const created = await httpsRequest(h.app.httpAddress, "/keys", tls, { method: "POST" });
      expect(created.status).to.equal(201);
      const { keyId } = created.body as { keyId: string };
      expect(await httpsRequest(h.app.httpAddress, `/keys/${keyId}`, tls)).to.deep.equal({
        status: 200,
        body: { isBlocked: false, blockedAt: null, createdAt: "2026-11-25T14:03:07.123Z", expiresAt: "2026-11-25T14:08:07.123Z", releaseAt: null, state: "AVAILABLE", ttl: "300s", lease: null },
      });
      expect(await errorCodeOf(httpRequest(h.app.httpAddress, "/healthz"))).to.equal("ECONNRESET");
    });

    it("serves buf curl over TLS with --cacert: a TokenService method and reflection's --list-services", async () => {
      const created = await bufCurl(h.app.grpcAddress, certs, ["URL/tokens.v1.TokenService/Create", "-d", "{}"]);
      expect(created.code, created.stderr).to.equal(0);
      expect((JSON.parse(created.stdout) as { keyId: string }).keyId).to.match(/^[A-Za-z0-9_-]{22,}$/);
      const listed = await bufCurl(h.app.grpcAddress, certs, ["--list-services", "URL"]);
      expect(listed.code, listed.stderr).to.equal(0);
      expect(listed.stdout.trim().split("\n").sort()).to.deep.equal([
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
        "tokens.v1.TokenService",
      ]);
    });
  });

  describe("mutual TLS (plus TLS_CLIENT_CA_FILE)", () => {
    let h: Harness;
    before(async () => {
      h = await startHarness({ env: { ...tlsEnv(), TLS_CLIENT_CA_FILE: certs.ca.certPath } });
    });
    after(() => h.close());

    const trusted = (): TlsOptions => ({ ca: certs.ca.cert, cert: certs.client.cert, key: certs.client.key });

    /** Both transports serve a client whose certificate the CA signed. */
    const serves = async (): Promise<void> => {
      await withClient(h.app.grpcAddress, { tls: trusted() }, async (client) => {
        const { keyId } = await client.create({});
        expect(await client.get({ keyId })).to.deep.include({ isBlocked: false });
      });
      expect((await httpsRequest(h.app.httpAddress, "/keys", trusted(), { method: "POST" })).status).to.equal(201);
    };

    it("serves a client whose certificate the CA signed: typed client, node:https and buf curl with --cert/--key", async () => {
      await serves();
      expect(await httpsRequest(h.app.httpAddress, "/healthz", trusted())).to.deep.equal({ status: 200, body: { status: "SERVING" } });
      const created = await bufCurl(h.app.grpcAddress, certs, ["URL/tokens.v1.TokenService/Create", "-d", "{}", "--cert", certs.client.certPath, "--key", certs.client.keyPath]);
      expect(created.code, created.stderr).to.equal(0);
      expect(JSON.parse(created.stdout)).to.have.property("keyId");
    });

    /** Calls that reached the pipeline so far (one "call" line each, at debug). */
    const calls = (): number => h.logs.filter((line) => line["msg"] === "call").length;

    it("refuses a client without a certificate at the handshake on both transports (certificate_required), and serves on", async () => {
      const before = calls();
      await withClient(h.app.grpcAddress, { tls: { ca: certs.ca.cert } }, async (client) => {
        const error = await failureOf(client.create({}, { timeoutMs: 5_000 }));
        expect(error.code, error.details).to.equal(Code.UNAVAILABLE);
        expect(error.details).to.contain("alert certificate required");
      });
      expect(await errorCodeOf(httpsRequest(h.app.httpAddress, "/keys", { ca: certs.ca.cert }, { method: "POST" }))).to.equal("ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED");
      const curled = await bufCurl(h.app.grpcAddress, certs, ["--list-services", "URL"]);
      // Go reads the alert, or finds the connection gone first ("broken pipe"): either way, refused.
      expect(curled.code, curled.stderr).to.equal(1);
      expect(curled.stderr).to.match(/^Failure: /);
      expect(calls(), "a refused call reached the pipeline").to.equal(before);
      await serves();
      expect(calls()).to.equal(before + 3);
    });

    it("refuses a client whose certificate another CA signed at the handshake on both transports, and serves on", async () => {
      const before = calls();
      const other = { ca: certs.ca.cert, cert: certs.otherClient.cert, key: certs.otherClient.key };
      await withClient(h.app.grpcAddress, { tls: other }, async (client) => {
        expect(await codeOf(client.create({}, { timeoutMs: 5_000 }))).to.equal(Code.UNAVAILABLE);
      });
      // Node checks the chain once OpenSSL's handshake is done and destroys the socket: no alert, no answer.
      expect(await errorCodeOf(httpsRequest(h.app.httpAddress, "/keys", other, { method: "POST" }))).to.equal("ECONNRESET");
      const curled = await bufCurl(h.app.grpcAddress, certs, ["--list-services", "URL", "--cert", certs.otherClient.certPath, "--key", certs.otherClient.keyPath]);
      expect(curled.code, curled.stderr).to.equal(1);
      expect(curled.stderr).to.match(/^Failure: /);
      expect(calls(), "a refused call reached the pipeline").to.equal(before);
      await serves();
      expect(calls()).to.equal(before + 3);
    });
  });

  describe("TLS with bearer tokens (AUTH_TOKENS_FILE)", () => {
    let h: Harness;
    before(async () => {
      const tokensFile = join(certs.dir, "tokens");
      writeFileSync(tokensFile, `admin ${ADMIN_TOKEN} ops\n`);
      h = await startHarness({ env: { ...tlsEnv(), AUTH_TOKENS_FILE: tokensFile } });
    });
    after(() => h.close());

    it("still asks for a token over TLS: UNAUTHENTICATED / 401 without one, served with one", async () => {
      const tls = { ca: certs.ca.cert };
      await withClient(h.app.grpcAddress, { tls }, async (client) => {
        expect(await codeOf(client.create({}))).to.equal(Code.UNAUTHENTICATED);
      });
      await withClient(h.app.grpcAddress, { tls, token: ADMIN_TOKEN }, async (client) => {
        expect((await client.create({})).keyId).to.be.a("string");
      });
      expect((await httpsRequest(h.app.httpAddress, "/keys", tls, { method: "POST" })).status).to.equal(401);
      expect((await httpsRequest(h.app.httpAddress, "/keys", tls, { method: "POST", token: ADMIN_TOKEN })).status).to.equal(201);
    });
  });

  describe("the service process", () => {
    buildFirst();
    it("says (TLS) and https:// in its start-up line, and serves gRPC over TLS", async () => {
      const service = await startServiceProcess(tlsEnv());
      try {
        const { msg } = JSON.parse(service.lines.at(-1) ?? "{}") as { msg?: string };
        expect(msg).to.equal(`listening: gRPC ${service.grpcAddress} (TLS), REST https://${service.httpAddress} (open: no AUTH_TOKENS_FILE)`);
        await withClient(service.grpcAddress, { tls: { ca: certs.ca.cert } }, async (client) => {
          expect((await client.create({})).keyId).to.be.a("string");
        });
      } finally {
        service.child.kill("SIGTERM");
      }
      expect(await service.exited).to.equal(0);
    });
  });
});
