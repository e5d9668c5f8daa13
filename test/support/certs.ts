import { generateKeyPair, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import forge from "node-forge";

/** One certificate: its PEM bytes and the file they were written to. */
export interface CertFile {
  readonly cert: Buffer;
  readonly certPath: string;
}

/** A certificate with its private key (PKCS#8 PEM), as bytes and as files. */
export interface KeyedCertFile extends CertFile {
  readonly key: Buffer;
  readonly keyPath: string;
}

/** Everything a TLS test needs, written as PEM files into a temp dir of its own. */
export interface TestCerts {
  readonly dir: string;
  /** The CA that signed `server` and `client`. */
  readonly ca: CertFile;
  /** For `localhost` and `127.0.0.1` (subjectAltName DNS and IP), serverAuth. */
  readonly server: KeyedCertFile;
  /** clientAuth, signed by `ca`. */
  readonly client: KeyedCertFile;
  /** A second CA, unrelated to `ca`. */
  readonly otherCa: CertFile;
  /** clientAuth, signed by `otherCa`: a server that trusts `ca` only must refuse it. */
  readonly otherClient: KeyedCertFile;
  /** Removes the temp dir. */
  remove(): void;
}

const generateRsa = promisify(generateKeyPair);

interface Pair {
  readonly forgePrivate: forge.pki.rsa.PrivateKey;
  readonly forgePublic: forge.pki.rsa.PublicKey;
  /** PKCS#8 PEM, as servers and clients read it. */
  readonly pem: string;
}

/** RSA 2048 made natively (fast, on the thread pool), converted for node-forge to sign with. */
async function keyPair(): Promise<Pair> {
  const { privateKey } = await generateRsa("rsa", {
    modulusLength: 2048,
    publicKeyEncoding: { type: "spki", format: "pem" },
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
  });
  const forgePrivate = forge.pki.privateKeyFromPem(privateKey) as forge.pki.rsa.PrivateKey;
  return { forgePrivate, forgePublic: forge.pki.setRsaPublicKey(forgePrivate.n, forgePrivate.e), pem: privateKey };
}

interface Subject {
  readonly commonName: string;
  readonly pair: Pair;
}

/** A positive serial (first byte below 0x80: strict parsers, Go's among them, refuse negative ones). */
function serial(): string {
  const bytes = randomBytes(16);
  bytes[0] = ((bytes[0] as number) & 0x7f) | 0x01;
  return bytes.toString("hex");
}

/**
 * An X.509 v3 certificate for `subject`, signed (SHA-256) by `issuer` with `issuerCert`'s
 * name, or self-signed when `issuerCert` is undefined. Valid from a day ago (clock skew)
 * for a day ahead.
 */
function certificate(subject: Subject, issuer: Subject, issuerCert: forge.pki.Certificate | undefined, extensions: object[]): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = subject.pair.forgePublic;
  cert.serialNumber = serial();
  const now = Date.now();
  cert.validity.notBefore = new Date(now - 86_400_000);
  cert.validity.notAfter = new Date(now + 86_400_000);
  cert.setSubject([{ name: "commonName", value: subject.commonName }, { name: "organizationName", value: "Token Orchestrator tests" }]);
  cert.setIssuer(issuerCert === undefined ? cert.subject.attributes : issuerCert.subject.attributes);
  const authorityKeyId = (issuerCert ?? cert).generateSubjectKeyIdentifier().getBytes();
  cert.setExtensions([...extensions, { name: "subjectKeyIdentifier" }, { name: "authorityKeyIdentifier", keyIdentifier: authorityKeyId }]);
  cert.sign(issuer.pair.forgePrivate, forge.md.sha256.create());
  return cert;
}

const CA_EXTENSIONS = [
  { name: "basicConstraints", cA: true, critical: true },
  { name: "keyUsage", keyCertSign: true, cRLSign: true, critical: true },
];
const leafExtensions = (usage: "serverAuth" | "clientAuth"): object[] => [
  { name: "basicConstraints", cA: false },
  { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
  { name: "extKeyUsage", [usage]: true },
];

/**
 * The five RSA keys, made once per process: generating them is most of a set's cost (about
 * a second of CPU), and mocha's workers run several TLS test files each. Every set still
 * gets certificates of its own (new serials), in a directory of its own.
 */
let keyPairs: Promise<readonly [Pair, Pair, Pair, Pair, Pair]> | undefined;

/**
 * Generates, in-process, a CA; a server certificate for localhost and 127.0.0.1 and a
 * client certificate, both signed by it; and an unrelated CA with a client certificate
 * of its own. Writes them as PEM files into a new temp dir. Once per test file.
 */
export async function generateTestCerts(): Promise<TestCerts> {
  keyPairs ??= Promise.all([keyPair(), keyPair(), keyPair(), keyPair(), keyPair()]);
  const [caPair, serverPair, clientPair, otherCaPair, otherClientPair] = await keyPairs;
  const ca: Subject = { commonName: "Token Orchestrator Test CA", pair: caPair };
  const otherCa: Subject = { commonName: "Unrelated Test CA", pair: otherCaPair };
  const caCert = certificate(ca, ca, undefined, CA_EXTENSIONS);
  const otherCaCert = certificate(otherCa, otherCa, undefined, CA_EXTENSIONS);
  const serverCert = certificate({ commonName: "localhost", pair: serverPair }, ca, caCert, [
    ...leafExtensions("serverAuth"),
    {
      name: "subjectAltName",
      altNames: [
        { type: 2, value: "localhost" },
        { type: 7, ip: "127.0.0.1" },
      ],
    },
  ]);
  const clientCert = certificate({ commonName: "test-client", pair: clientPair }, ca, caCert, leafExtensions("clientAuth"));
  const otherClientCert = certificate({ commonName: "test-client", pair: otherClientPair }, otherCa, otherCaCert, leafExtensions("clientAuth"));

  const dir = mkdtempSync(join(tmpdir(), "tokens-tls-"));
  const write = (name: string, pem: string): [Buffer, string] => {
    const path = join(dir, name);
    writeFileSync(path, pem, { mode: 0o600 });
    return [Buffer.from(pem), path];
  };
  const certFile = (name: string, cert: forge.pki.Certificate): CertFile => {
    const [bytes, path] = write(`${name}.pem`, forge.pki.certificateToPem(cert));
    return { cert: bytes, certPath: path };
  };
  const keyedCertFile = (name: string, cert: forge.pki.Certificate, pair: Pair): KeyedCertFile => {
    const [key, keyPath] = write(`${name}-key.pem`, pair.pem);
    return { ...certFile(name, cert), key, keyPath };
  };
  return {
    dir,
    ca: certFile("ca", caCert),
    server: keyedCertFile("server", serverCert, serverPair),
    client: keyedCertFile("client", clientCert, clientPair),
    otherCa: certFile("other-ca", otherCaCert),
    otherClient: keyedCertFile("other-client", otherClientCert, otherClientPair),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
