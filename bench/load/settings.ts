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
  /** Keys whose deadlines fall together. */
  readonly keys: number;
  /** KEY_TTL of the storm service: long enough to fill, settle and measure a window before the storm. */
  readonly keyTtlSeconds: number;
  /** The steady load: h2load clients × rate per client. */
  readonly clients: number;
  readonly ratePerClient: number;
  /** Length of the window before the storm whose p99 is the reference. */
  readonly beforeSeconds: number;
  /** Load kept running after the sweep ends. */
  readonly afterSeconds: number;
  /** Storms in a row (same server process), each reported; the median ratio is the figure. */
  readonly repeats: number;
}

export function settingsFor(smoke: boolean, dir: string, overrides: { seconds?: number | undefined; rounds?: number | undefined }): Settings {
  return {
    smoke,
    // Several short rounds rather than two long ones: the machine's drift is slow, so tight pairs cancel it better.
    seconds: overrides.seconds ?? (smoke ? 0.5 : 5),
    rounds: overrides.rounds ?? (smoke ? 1 : 4),
    warmupSeconds: smoke ? 0 : 2,
    pool: smoke ? 1e3 : 1e5,
    blockTtl: smoke ? "50ms" : "2s",
    h2load: { clients: 8, streams: 32 },
    wrk: { connections: 64 },
    storm: smoke
      ? { keys: 1e4, keyTtlSeconds: 2.5, clients: 4, ratePerClient: 250, beforeSeconds: 1, afterSeconds: 0.5, repeats: 1 }
      : { keys: 1e6, keyTtlSeconds: 12, clients: 4, ratePerClient: 500, beforeSeconds: 4, afterSeconds: 2, repeats: 3 },
    redis: smoke ? { benchmarkRequests: 5000, benchmarkClients: 50 } : { benchmarkRequests: 200_000, benchmarkClients: 50 },
    serverCpu: 0,
    loadCpu: 1,
    dir,
  };
}
