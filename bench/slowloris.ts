/**
 * `npm run bench:slowloris`: do slow and idle connections starve the service? The
 * compiled service runs as its own process; an attacker process keeps `--count`
 * slowloris connections open on each port (REST: headers trickled a few bytes every
 * few seconds, never finished; gRPC: the HTTP/2 preface and SETTINGS, then silence),
 * reopening each one the server closes; meanwhile GET /healthz is timed on a fresh
 * connection each time and on a kept-alive one, before and during the attack.
 *
 * Target (issue #9): with 1,000 slowloris connections on each port, no /healthz takes
 * more than 100 ms. Also printed: how many slow connections the server closed, after
 * how long, and what it sent them first (REST: 408 at headersTimeout, 10 s; gRPC: an
 * unanswered keepalive PING, then the close, keepalive_time + keepalive_timeout = 140 s).
 *
 *   --smoke          100 connections a port, a few seconds (npm run test:bench)
 *   --count N        slow connections per port (default 1000; fewer when `ulimit -n` is too low, said so)
 *   --hold S         seconds the attack runs while /healthz is probed (default 150: long
 *                    enough to see the gRPC port's keepalive cut the silent connections)
 *   --probe-ms MS    one /healthz probe of each kind every MS (default 50: dense enough to
 *                    land on the instant the server cuts a thousand connections at once)
 *   --before S       seconds of probes before the attack (default 10)
 *   --ports P        rest, grpc or rest,grpc (default): which ports to attack
 *   --trickle-ms MS  pause between a REST connection's trickles (default 3000, jittered ±25%)
 *   --json FILE      where the figures go (a full run writes bench/results/slowloris.json)
 *   --no-pin         do not pin the service (CPU 0) and the attacker (CPU 1)
 *
 * Exits 1 when the run failed (the attacker could not open its connections, a process
 * died) and, outside --smoke, when the target is missed.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { dirname, join } from "node:path";
import { JsonProcess, launch, ROOT, setPinning, stopAll } from "./load/procs";
import { scrape } from "./scrape";
import { startServiceProcess } from "./service-process";
import type { PortReport } from "./slowloris/attacker";
import { openFileLimit } from "./slowloris/fd-limit";
import { failuresOf, probeHealthz, type Probes, summarize, type Summary } from "./slowloris/probe";
import { sampleValue } from "../test/support/prom-text";

const TARGET_MAX_MS = 100;
/** Descriptors a process needs besides the slow connections (listeners, stdio, Redis, probes, slack). */
const FD_RESERVE = 64;

interface Options {
  readonly smoke: boolean;
  readonly count: number;
  readonly holdS: number;
  readonly probeMs: number;
  readonly beforeS: number;
  readonly trickleMs: number;
  readonly ports: readonly ("rest" | "grpc")[];
  readonly json: string | undefined;
  readonly pin: boolean;
}

function parseOptions(argv: readonly string[]): Options {
  const value = (flag: string): string | undefined => {
    const at = argv.indexOf(flag);
    return at >= 0 ? argv[at + 1] : undefined;
  };
  const whole = (flag: string, fallback: number): number => {
    const text = value(flag);
    if (text === undefined) return fallback;
    const parsed = Number(text);
    if (!Number.isInteger(parsed) || parsed < 1) throw new Error(`${flag} takes a whole number ≥ 1`);
    return parsed;
  };
  const smoke = argv.includes("--smoke");
  const ports = (value("--ports") ?? "rest,grpc").split(",");
  if (ports.length === 0 || ports.some((port) => port !== "rest" && port !== "grpc")) throw new Error("--ports takes rest, grpc or rest,grpc");
  return {
    ports: ports as ("rest" | "grpc")[],
    smoke,
    count: whole("--count", smoke ? 100 : 1000),
    holdS: whole("--hold", smoke ? 3 : 150),
    probeMs: whole("--probe-ms", 50),
    beforeS: whole("--before", smoke ? 1 : 10),
    trickleMs: whole("--trickle-ms", smoke ? 1000 : 3000),
    json: value("--json") ?? (smoke ? undefined : join(ROOT, "bench", "results", "slowloris.json")),
    pin: !argv.includes("--no-pin"),
  };
}

/** Slow connections per port that fit both processes' descriptor limits (the attacker inherits ours). */
function fittingCount(wanted: number, limits: readonly (number | undefined)[], ports: number): number {
  const lowest = Math.min(...limits.map((limit) => limit ?? Number.POSITIVE_INFINITY));
  return Math.min(wanted, Math.floor((lowest - FD_RESERVE) / ports));
}

const ms = (value: number): string => (Number.isFinite(value) ? value.toFixed(2) : "-");

function latencyTable(phases: Readonly<Record<string, Probes>>): string[] {
  const lines = [`${"/healthz, ms".padEnd(20)} ${"p50".padStart(8)} ${"p99".padStart(8)} ${"max".padStart(8)} ${"n".padStart(5)} ${"failed".padStart(7)}`];
  for (const [phase, probes] of Object.entries(phases)) {
    for (const [kind, samples, failed] of [
      ["fresh", probes.fresh, probes.failed.fresh],
      ["keep-alive", probes.keepAlive, probes.failed.keepAlive],
    ] as const) {
      const s = summarize(samples);
      lines.push(`${`${phase} ${kind}`.padEnd(20)} ${ms(s.p50).padStart(8)} ${ms(s.p99).padStart(8)} ${ms(s.max).padStart(8)} ${String(s.n).padStart(5)} ${String(failed.length).padStart(7)}`);
    }
  }
  return lines;
}

function attackTable(reports: readonly PortReport[]): string[] {
  const header = ["slow connections", "opened", "peak open", "fewest open", "closed by server", "answered first", "first close s", "closed after (s: count)", "server sent"];
  const lines = [header.join("  ")];
  for (const r of reports) {
    const lifetimes = Object.entries(r.lifetimeSeconds)
      .map(([seconds, count]) => `${seconds}: ${count}`)
      .join(", ");
    const seen = Object.entries(r.seen)
      .map(([what, count]) => `${what}: ${count}`)
      .join(", ");
    lines.push(
      [
        (r.port === "rest" ? "REST" : "gRPC").padEnd(header[0]?.length ?? 0),
        String(r.opened).padStart(6),
        String(r.peakOpen).padStart(9),
        String(r.fewestOpenAfterUp).padStart(11),
        String(r.closedByServer).padStart(16),
        String(r.answeredFirst).padStart(14),
        (r.firstCloseMs === undefined ? "-" : (r.firstCloseMs / 1000).toFixed(1)).padStart(13),
        (lifetimes || "-").padEnd(23),
        seen || "-",
      ].join("  "),
    );
  }
  return lines;
}

/**
 * The service's open descriptors once it has accepted every slow connection (the
 * attacker counts a connection open when the kernel has, before the service accepts
 * it), or after 5 s, whichever comes first.
 */
async function acceptedAll(httpAddress: string, expected: number): Promise<number> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const fds = sampleValue(await scrape(httpAddress), "process_open_fds");
    if (fds >= expected || Date.now() > deadline) return fds;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** When the server cut slow connections: the seconds of the attack in which it closed more than a handful. */
function cutsTable(reports: readonly PortReport[]): string[] {
  return reports.map((r) => {
    const cuts = Object.entries(r.closedInSecond)
      .filter(([, n]) => n > 5)
      .map(([second, n]) => `${n} @ ${second} s`);
    return `${r.port === "rest" ? "REST" : "gRPC"} cuts (closed @ second of the attack): ${cuts.join(", ") || "none"}`;
  });
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  setPinning(options.pin);
  const service = await startServiceProcess({ cpu: 0 });
  try {
    const idle = await scrape(service.http);
    const limits = { bench: openFileLimit(), service: sampleValue(idle, "process_max_fds") };
    const count = fittingCount(options.count, [limits.bench, limits.service], options.ports.length);
    if (count < 1) throw new Error(`open-file limits too low for any slow connection: ${JSON.stringify(limits)}`);
    console.log(
      `slowloris: ${count} slow connections per port on ${options.ports.join(" and ")} (REST: 5 bytes of headers every ~${options.trickleMs} ms, never finished; ` +
        `gRPC: HTTP/2 preface + SETTINGS, then silent), reopened when closed, for ${options.holdS} s; /healthz probed each way every ${options.probeMs} ms, ${options.beforeS} s before and all through the attack`,
    );
    const slow = count * options.ports.length;
    console.log(`open-file limits: bench ${limits.bench ?? "unknown"}, service ${limits.service}; ${slow + FD_RESERVE} needed each`);
    if (count < options.count) console.log(`! ${options.count} connections per port do not fit \`ulimit -n\`: ran ${count} (raise the limit for the full figure)`);

    await probeHealthz(service.http, 50, 500); // warm-up, not reported
    const before = await probeHealthz(service.http, Math.round((options.beforeS * 1000) / options.probeMs), options.beforeS * 1000);
    const fdsBefore = sampleValue(await scrape(service.http), "process_open_fds");

    const attacker = new JsonProcess(
      "attacker",
      launch(
        process.execPath,
        [
          ...["--import", "tsx", "bench/slowloris/attacker.ts", "--http", service.http, "--grpc", service.grpc],
          ...["--ports", options.ports.join(","), "--count", String(count), "--trickle-ms", String(options.trickleMs)],
        ],
        { cpu: 1, stdin: true },
      ),
    );
    await attacker.waitFor((m) => (m["ready"] === undefined ? undefined : true), 30_000, "the attacker's start");
    // The window opens with the attack, so the burst of connections opening is measured too.
    const probing = probeHealthz(service.http, Math.round((options.holdS * 1000) / options.probeMs), options.holdS * 1000);
    attacker.send("go");
    const up = await attacker.waitFor((m) => (m["up"] === undefined ? undefined : (m["up"] as { startedAt: number; msToOpen: number })), 60_000, "all slow connections open");
    const fdsDuring = await acceptedAll(service.http, fdsBefore + slow);
    const during = await probing;
    attacker.send("stop");
    const reports = await attacker.waitFor((m) => m["report"] as PortReport[] | undefined, 10_000, "the attacker's report");
    await attacker.exited;

    const duringMax = summarize([...during.fresh, ...during.keepAlive]).max;
    const duringFailures = failuresOf(during);
    const met = duringFailures.length === 0 && duringMax <= TARGET_MAX_MS;
    console.log("");
    for (const line of latencyTable({ before, during })) console.log(line);
    console.log("");
    console.log(`service open fds: ${fdsBefore} before, ${fdsDuring} with the attack up (all ${slow} open in ${up.msToOpen} ms)`);
    console.log("");
    for (const line of attackTable(reports)) console.log(line);
    console.log("");
    for (const line of cutsTable(reports)) console.log(line);
    console.log(
      `slowest /healthz during the attack (ms @ s into it): ${during.slowest.map((p) => `${ms(p.ms)} @ ${((p.at - up.startedAt) / 1000).toFixed(1)} (${p.kind})`).join(", ")}`,
    );
    console.log("");
    for (const failure of [...failuresOf(before), ...duringFailures].slice(0, 5)) console.log(`! failed probe: ${failure}`);
    console.log(
      `target: max /healthz during the attack ≤ ${TARGET_MAX_MS} ms, no probe failed: ${ms(duringMax)} ms, ${duringFailures.length} failed — ${met ? "met" : "NOT MET"}`,
    );

    if (options.json !== undefined) {
      const figures = (probes: Probes): { fresh: Summary; keepAlive: Summary; failed: Probes["failed"] } => ({
        fresh: summarize(probes.fresh),
        keepAlive: summarize(probes.keepAlive),
        failed: probes.failed,
      });
      mkdirSync(dirname(options.json), { recursive: true });
      writeFileSync(
        options.json,
        JSON.stringify(
          {
            bench: "slowloris",
            date: new Date().toISOString(),
            node: process.version,
            cpus: cpus().length,
            smoke: options.smoke,
            settings: { countPerPort: count, holdS: options.holdS, beforeS: options.beforeS, probeMs: options.probeMs, trickleMs: options.trickleMs },
            openFileLimits: limits,
            healthzMs: { before: figures(before), during: figures(during) },
            serviceOpenFds: { before: fdsBefore, duringAttack: fdsDuring },
            msToOpenAll: up.msToOpen,
            slowestDuring: during.slowest.map((p) => ({ kind: p.kind, atSecondOfAttack: (p.at - up.startedAt) / 1000, ms: p.ms })),
            attack: reports,
            target: { maxMs: TARGET_MAX_MS, measuredMaxMs: duringMax, met },
          },
          null,
          2,
        ) + "\n",
      );
    }
    if (!met && !options.smoke) process.exitCode = 1;
  } finally {
    await service.stop();
    await stopAll();
  }
}

main().catch(async (error: unknown) => {
  console.error(error);
  await stopAll();
  process.exit(1);
});
