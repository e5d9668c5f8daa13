import { expect } from "chai";
import { buildFirst } from "../support/build";
import { TestRedis } from "../support/redis-server";
import { describeGrpcCase, describeGrpcOutcome, describeRestCase, describeRestOutcome } from "./lib/describe";
import { errorLogs, type FuzzServer, startFuzzServer } from "./lib/fuzz-server";
import { grpcCase } from "./lib/grpc-cases";
import { grpcProblems } from "./lib/grpc-check";
import { grpcExchange, Http2Sessions } from "./lib/grpc-exchange";
import { healthStatus, poolProblems } from "./lib/pool-oracle";
import { Random } from "./lib/random";
import { rawFramesAgainstProcess } from "./lib/raw-frames-run";
import { restCase } from "./lib/rest-cases";
import { restProblems } from "./lib/rest-check";
import { exchangeRaw } from "./lib/rest-exchange";
import { Findings, runConcurrently } from "./lib/run-cases";
import { caseIndexes, fuzzSettings, replayLine } from "./lib/settings";

/**
 * The hostile-input suite (`npm run test:fuzz`): from a fixed seed, thousands of random
 * REST requests over raw TCP and gRPC calls over HTTP/2, with and without tokens, against
 * the real app in-process, and connections of malformed HTTP/2 frames against the service
 * in its own process (a crash there is a failure, not the end of the run). Pass: no crash, no 5xx and no
 * unexpected gRPC status, every REST error a JSON body, nothing the caller sent quoted
 * back, no internal error logged, and afterwards the pool's invariants hold.
 * FUZZ_SEED and FUZZ_CASES run it with another seed or longer (lib/settings.ts).
 */
const settings = fuzzSettings();
console.log(`hostile-input fuzz: seed ${settings.seed}, ${settings.cases} cases per generator per server (run again: ${replayLine(settings)})`);

/** At once per server: enough to overlap requests, few enough for a two-core machine. */
const CONCURRENCY = 8;
/** Raw HTTP/2 connections: each may wait out a quiet spell, so fewer of them. */
const RAW_SHARE = 20;

interface Setup {
  readonly name: string;
  readonly secured: boolean;
  /** Cases per generator, as a share of FUZZ_CASES. */
  readonly share: number;
  readonly redis: boolean;
}

const SETUPS: readonly Setup[] = [
  { name: "memory store, open (loopback, no tokens)", secured: false, share: 1, redis: false },
  { name: "memory store, with tokens (admin, client, wrong and none)", secured: true, share: 1, redis: false },
  { name: "Redis store, with tokens (a short round)", secured: true, share: 0.2, redis: true },
];

for (const setup of SETUPS) {
  const cases = Math.max(1, Math.round(settings.cases * setup.share));
  describe(`hostile input: ${setup.name}`, function () {
    this.timeout(60_000 + cases * 60);
    buildFirst(); // the raw frames go to the built service in its own process
    let server: FuzzServer;
    let redis: TestRedis | undefined;

    before(async () => {
      redis = setup.redis ? await TestRedis.start({ durable: false }) : undefined;
      server = await startFuzzServer({ secured: setup.secured, env: redis === undefined ? {} : { STORE: "redis", REDIS_URL: redis.url } });
    });
    after(async () => {
      await server?.close();
      await redis?.stop();
    });

    /** Fails with the first cases that went wrong, each with its replay line. */
    const verdict = (findings: Findings, title: string): void => {
      if (findings.count > 0) throw new Error(findings.report(`${title} (seed ${settings.seed}, ${setup.name})`, (index) => replayLine(settings, index)));
    };

    it(`REST: ${cases} random requests over raw TCP, every answer checked`, async () => {
      const findings = new Findings();
      const { httpPort } = server.harness.app;
      await runConcurrently(caseIndexes(settings, cases), CONCURRENCY, async (index) => {
        const c = restCase(Random.forCase(settings.seed, "rest", index), index, { knownKeys: server.knownKeys, port: httpPort });
        const outcome = await exchangeRaw(httpPort, c.bytes, { method: c.method, halfClose: c.halfClose, timeoutMs: c.nodeStalls ? 1000 : 10_000 });
        const problems = restProblems(c, outcome);
        if (problems.length > 0) findings.add({ index, sent: describeRestCase(c), received: describeRestOutcome(outcome), problems });
      });
      verdict(findings, "REST");
    });

    it(`gRPC: ${cases} random calls over HTTP/2, every status checked against the case's allowed ones`, async () => {
      const findings = new Findings();
      const sessions = new Http2Sessions(server.harness.app.grpcAddress, 4);
      let next = 0;
      try {
        await runConcurrently(caseIndexes(settings, cases), CONCURRENCY, async (index) => {
          const c = grpcCase(Random.forCase(settings.seed, "grpc", index), index, { knownKeys: server.knownKeys, secured: setup.secured });
          const outcome = await sessions.use(next++, (session) => grpcExchange(session, c, { timeoutMs: 10_000, resetOpenStreamAfterMs: 30 }));
          const problems = grpcProblems(c, outcome);
          if (problems.length > 0) findings.add({ index, sent: describeGrpcCase(c), received: describeGrpcOutcome(outcome), problems });
        });
      } finally {
        sessions.close();
      }
      verdict(findings, "gRPC");
    });

    it(`raw HTTP/2: ${Math.ceil(cases / RAW_SHARE)} connections of malformed frames, to the service in its own process`, async () => {
      const { findings, crash } = await rawFramesAgainstProcess(settings.seed, caseIndexes(settings, Math.ceil(cases / RAW_SHARE)), server.env);
      if (crash !== undefined) throw new Error(`${crash}\n(seed ${settings.seed}, ${setup.name}; run one of those cases with FUZZ_CASE=<case> ${replayLine(settings)})`);
      verdict(findings, "raw HTTP/2");
    });

    it("afterwards: nothing unexpected was logged, /healthz is 200, and the pool's invariants hold", async () => {
      const internal = errorLogs(server).map((line) => JSON.stringify(line).slice(0, 600));
      expect(internal, `internal errors logged during the fuzz (seed ${settings.seed}):\n${internal.slice(0, 5).join("\n")}`).to.deep.equal([]);
      expect(await healthStatus(server), "GET /healthz").to.equal("200");
      const { keys, problems } = await poolProblems(server);
      expect(problems, `the pool after the fuzz (seed ${settings.seed}): ${problems.join("; ")}`).to.deep.equal([]);
      console.log(`      (the pool held ${keys} keys: ${keys} Acquires gave ${keys} distinct keys, then NOT_FOUND)`);
    });
  });
}
