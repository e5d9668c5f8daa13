/** The bench's knobs, full and smoke, in one place. */
export interface Settings {
  readonly smoke: boolean;
  /** Length of one measured run (wrk rounds it to whole seconds, at least 1). */
  readonly seconds: number;
  /** Side-by-side rounds per row (ABBA order). */
  readonly rounds: number;
  /** Discarded run per target before the rounds (JIT, connections); 0: none. */
  readonly warmupSeconds: number;
  /** Keys in the pool before the load. */
  readonly pool: number;
  /** BLOCK_TTL of the loaded service: short, so Acquire-only traffic hands keys back instead of draining the pool. */
  readonly blockTtl: string;
  readonly h2load: { readonly clients: number; readonly streams: number };
  readonly wrk: { readonly connections: number };
  readonly storm: StormSettings;
  readonly redis: { readonly benchmarkRequests: number; readonly benchmarkClients: number };
  /** Servers (service, baselines, Redis-backed service) run here, the load generators on `loadCpu`. */
  readonly serverCpu: number;
  readonly loadCpu: number;
  /** Scratch directory for body files, Lua scripts and h2load logs. */
  readonly dir: string;
}

export interface StormSettings {
  /** Keys whose deadlines fall on one millisecond (capacity: MAX_KEYS is this + 1, for the live key). */
  readonly keys: number;
  /** Release storm: available keys beside the storm's, for the steady Acquires to draw. */
  readonly spareKeys: number;
  /**
   * Memory: KEY_TTL (expiry, capacity) or BLOCK_TTL (release) of the storm server, i.e. from
   * the held-clock fill to the instant; it must cover the fill, `warmSeconds` and `beforeSeconds`.
   * Redis: the bench picks the instant itself, just far enough past its fill (see storm.ts).
   */
  readonly leadSeconds: number;
  /** The steady load: h2load clients × rate per client. */
  readonly clients: number;
  readonly ratePerClient: number;
  /** Load run before the 'before' window (connections, JIT), not measured. */
  readonly warmSeconds: number;
  /**
   * Length of the window before the storm whose p99 is the reference, by store: about as long as
   * the 'across' window, so the two p99s are read over like spans of this machine's hiccups. On
   * Redis a 4 s reference (8,000 calls) read 5 to 58 ms from one run to the next with nothing
   * changed, against 15-36 ms across windows of 25-38 s.
   */
  readonly beforeSeconds: { readonly memory: number; readonly redis: number };
  /**
   * Load run from the instant on, by store: it must outlast the backlog (else the run is doubtful).
   * Redis: only the sweeper applies a backlog nobody touches, at half duty (a 1e6 backlog took 16-18 s on
   * a fast morning here, 36-52 s on slow days, and 42-98 s with Redis at real-time priority, which
   * leaves the service less CPU: the window is 96 s, and a run it cuts short is marked doubtful). Longer
   * than the 24 s reference: the across p99 is read over more of the machine's hiccups, which only makes
   * the target harder.
   */
  readonly acrossSeconds: { readonly memory: number; readonly redis: number };
  /** Storms in a row (same server process), each reported; the median ratio is the figure. */
  readonly repeats: number;
}

export function settingsFor(smoke: boolean, dir: string, overrides: { seconds?: number | undefined; rounds?: number | undefined }): Settings {
  return {
    smoke,
    // Several short rounds rather than two long ones: the machine's drift is slow, so tight pairs cancel it better.
    // Smoke: 1 s (wrk's least anyway). A 0.3 s h2load run on a slow machine, where a p99 was
    // 250 ms, twice finished no call at all (a stall at the row's start) and failed CI.
    seconds: overrides.seconds ?? (smoke ? 1 : 5),
    rounds: overrides.rounds ?? (smoke ? 1 : 4),
    warmupSeconds: smoke ? 0 : 2,
    // Smoke too must outlast its Acquires' 1 s holds (BENCH_HOLD_SECONDS) at full speed.
    pool: smoke ? 2e4 : 1e5,
    blockTtl: smoke ? "50ms" : "2s",
    h2load: { clients: 8, streams: 32 },
    wrk: { connections: 64 },
    storm: smoke
      ? { keys: 1e4, spareKeys: 2000, leadSeconds: 0.6, clients: 4, ratePerClient: 250, warmSeconds: 0.1, beforeSeconds: { memory: 0.3, redis: 0.3 }, acrossSeconds: { memory: 0.3, redis: 1.2 }, repeats: 1 }
      : { keys: 1e6, spareKeys: 50_000, leadSeconds: 16, clients: 4, ratePerClient: 500, warmSeconds: 2, beforeSeconds: { memory: 4, redis: 24 }, acrossSeconds: { memory: 5, redis: 96 }, repeats: 3 },
    redis: smoke ? { benchmarkRequests: 5000, benchmarkClients: 50 } : { benchmarkRequests: 200_000, benchmarkClients: 50 },
    serverCpu: 0,
    loadCpu: 1,
    dir,
  };
}
