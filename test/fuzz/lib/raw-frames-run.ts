import { type ServiceProcess, startServiceProcess } from "../../support/process";
import { CLIENT_PREFACE, FRAME, frame } from "../../support/raw-http2";
import { hex } from "./describe";
import { Random } from "./random";
import { rawFramesCase, rawFramesProblems, sendRawFrames } from "./raw-frames";
import { preview } from "./rest-check";
import { Findings, runConcurrently } from "./run-cases";

export interface RawFramesRun {
  readonly findings: Findings;
  /** Set when the service process died: how, during which cases, and its last words. */
  readonly crash: string | undefined;
}

/**
 * Sends the raw HTTP/2 cases to the service started as its own process (the built one), so
 * that a crash in the HTTP/2 stack (native code: an abort cannot be caught) fails this
 * test with the cases in flight, instead of ending the test run itself.
 */
export async function rawFramesAgainstProcess(seed: number, indexes: readonly number[], env: Readonly<Record<string, string>>): Promise<RawFramesRun> {
  const service = await startServiceProcess({ ...env, LOG_LEVEL: "warn" });
  const findings = new Findings();
  // The server dies a moment after the bytes that killed it: the culprit is among the last cases started.
  const started: number[] = [];
  let crash: string | undefined;
  let stopping = false;
  service.child.once("exit", (code, signal) => {
    if (stopping) return;
    crash = `the service process died (${signal ?? `exit code ${code}`}); the last raw cases started: ${started.slice(-16).join(", ")}; its stderr: ${service.stderr().slice(-600)}`;
  });
  const port = Number(service.grpcAddress.slice(service.grpcAddress.lastIndexOf(":") + 1));
  try {
    await runConcurrently(indexes, 8, async (index) => {
      if (crash !== undefined) return;
      const c = rawFramesCase(Random.forCase(seed, "frames", index), index, service.grpcAddress);
      started.push(index);
      const outcome = await sendRawFrames(port, c, 100);
      const problems = crash === undefined ? rawFramesProblems(c, outcome) : [];
      if (problems.length > 0) findings.add({ index, sent: `${c.steps.join(", ")}: ${hex(c.bytes)}`, received: preview(outcome.received), problems });
    });
    if (crash === undefined && !(await stillSpeaksHttp2(port))) crash = "the service process no longer answers a new HTTP/2 connection with its SETTINGS";
  } finally {
    stopping = true;
    await stop(service);
  }
  return { findings, crash };
}

/** A fresh, well-formed connection gets the server's SETTINGS. */
async function stillSpeaksHttp2(port: number): Promise<boolean> {
  const outcome = await sendRawFrames(port, { index: -1, steps: ["preface", "SETTINGS"], bytes: Buffer.concat([CLIENT_PREFACE, frame(FRAME.SETTINGS, 0, 0)]), validPreface: true }, 200);
  return outcome.received.length >= 9 && outcome.received[3] === FRAME.SETTINGS;
}

async function stop(service: ServiceProcess): Promise<void> {
  if (service.child.exitCode !== null || service.child.signalCode !== null) return;
  service.child.kill("SIGTERM");
  await service.exited;
}
