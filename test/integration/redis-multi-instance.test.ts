import { expect } from "chai";
import { Code, createTokenClient, type KeyEvent, KeyEventType, type ServiceError, type TokenClient } from "../../clients";
import { buildFirst } from "../support/build";
import { type ServiceProcess, startServiceProcess } from "../support/process";
import { TestRedis } from "../support/redis-server";

const KEYS = 40;
const ACQUIRES_PER_INSTANCE = 60;

/** Two service processes on one redis-server: one pool, no key ever held twice, survives an outage. */
describe("several instances on one Redis", function () {
  this.timeout(120_000);
  buildFirst();
  let redis: TestRedis;
  let instances: ServiceProcess[] = [];
  let clients: TokenClient[] = [];

  before(async () => {
    redis = await TestRedis.start();
    const env = { STORE: "redis", REDIS_URL: redis.url, REDIS_PREFIX: "multi:", LOG_LEVEL: "warn" };
    instances = await Promise.all([startServiceProcess(env), startServiceProcess(env)]);
    clients = instances.map((instance) => createTokenClient(instance.grpcAddress));
  });

  after(async () => {
    for (const client of clients) client.close();
    for (const instance of instances) instance.child.kill("SIGTERM");
    await Promise.all(instances.map((instance) => instance.exited));
    await redis.stop();
  });

  const [a, b] = [() => clients[0] as TokenClient, () => clients[1] as TokenClient];
  const http = (i: number) => `http://${instances[i]?.httpAddress}`;

  it("serves one pool: hammered from both at once, every key is handed out exactly once", async () => {
    const created = new Set<string>();
    const leases: number[] = [];
    for (let i = 0; i < KEYS; i += 1) created.add((await (i % 2 ? a() : b()).create({})).keyId);
    const attempts = clients.flatMap((client) =>
      Array.from({ length: ACQUIRES_PER_INSTANCE }, () =>
        client.acquire({}).then(
          (response) => {
            leases.push(response.lease);
            return response.keyId;
          },
          (error: ServiceError) => error.code,
        ),
      ),
    );
    const outcomes = await Promise.all(attempts);
    const acquired = outcomes.filter((outcome): outcome is string => typeof outcome === "string");
    const refused = outcomes.filter((outcome) => outcome === Code.NOT_FOUND);
    expect(acquired).to.have.length(KEYS);
    expect(new Set(acquired)).to.deep.equal(created);
    expect(refused).to.have.length(outcomes.length - KEYS);
    expect(new Set(leases).size, "every lease number handed out once, whichever instance").to.equal(KEYS);
    // Each instance sees the other's blocks; release through the other one.
    for (const keyId of acquired) expect((await b().get({ keyId })).isBlocked).to.equal(true);
    for (const keyId of acquired) await a().release({ keyId });
    for (const keyId of acquired) expect((await b().get({ keyId })).isBlocked).to.equal(false);
  });

  it("fences across instances: a hold that ran out on A cannot release or renew the lease B handed out since", async () => {
    // One key in the pool, so both acquires draw it.
    for (let page = await a().list({ pageSize: 1000 }); page.keys.length > 0; page = await a().list({ pageSize: 1000 })) {
      for (const key of page.keys) await a().delete({ keyId: key.keyId });
    }
    const { keyId } = await a().create({});
    const first = await a().acquire({ blockTtl: { seconds: 1, nanos: 0 } });
    expect(first.keyId).to.equal(keyId);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, (first.releaseAt?.getTime() ?? 0) - Date.now()) + 20));
    const second = await b().acquire({});
    expect([second.keyId, second.lease > first.lease]).to.deep.equal([keyId, true]);
    const stale = (call: Promise<unknown>) => call.then(() => Code.OK, (error: ServiceError) => error.code);
    expect(await stale(a().release({ keyId, lease: first.lease }))).to.equal(Code.ABORTED);
    expect(await stale(a().keepAlive({ keyId, lease: first.lease }))).to.equal(Code.ABORTED);
    const state = await a().get({ keyId });
    expect([state.lease, state.releaseAt]).to.deep.equal([second.lease, second.releaseAt]);
    await a().release({ keyId, lease: second.lease }); // the current lease, through the other instance
    expect((await b().get({ keyId })).isBlocked).to.equal(false);
    await b().delete({ keyId });
  });

  it("watch: a watcher on A sees every event made on A and B in revision order, with no gap after a reconnect, automatic ones within a second", async () => {
    const stop = new AbortController();
    const seen: KeyEvent[] = [];
    const reading = (async () => {
      for await (const event of a().watch({}, { signal: stop.signal })) seen.push(event);
    })();
    const until = async (count: number): Promise<void> => {
      for (let waited = 0; seen.length < count; waited += 10) {
        if (waited > 5000) throw new Error(`only ${seen.length} of ${count} events`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    };
    await new Promise((resolve) => setTimeout(resolve, 200)); // the watch is open
    const one = await a().create({});
    const two = await b().create({});
    await b().delete({ keyId: one.keyId });
    await a().delete({ keyId: two.keyId });
    await until(4);
    expect(seen.map((event) => `${KeyEventType[event.type]} ${event.keyId}`)).to.deep.equal([
      `CREATED ${one.keyId}`,
      `CREATED ${two.keyId}`,
      `DELETED ${one.keyId}`,
      `DELETED ${two.keyId}`,
    ]);
    const first = seen[0]?.revision as number;
    expect(seen.map((event) => event.revision)).to.deep.equal([first, first + 1, first + 2, first + 3]);
    stop.abort();
    await reading;

    // Disconnected, B goes on; A resumes from the next revision and misses nothing.
    const missed = await b().create({});
    await b().delete({ keyId: missed.keyId });
    const resumed: KeyEvent[] = [];
    for await (const event of a().watch({ startRevision: first + 4 })) {
      resumed.push(event);
      if (resumed.length === 2) break;
    }
    expect(resumed.map((event) => `${event.revision} ${KeyEventType[event.type]} ${event.keyId}`)).to.deep.equal([
      `${first + 4} CREATED ${missed.keyId}`,
      `${first + 5} DELETED ${missed.keyId}`,
    ]);

    // An automatic event of a key made on B reaches A's watcher within a second, `at` its deadline.
    const expiring = await b().create({ ttl: { seconds: 1, nanos: 0 } });
    for await (const event of a().watch({ startRevision: first + 6 })) {
      if (event.type !== KeyEventType.EXPIRED) continue;
      const arrived = Date.now();
      expect(event.keyId).to.equal(expiring.keyId);
      expect((event.at as Date).getTime()).to.equal((expiring.expiresAt as Date).getTime());
      expect(arrived - (expiring.expiresAt as Date).getTime()).to.be.within(0, 1000);
      break;
    }
  });

  it("fails fast with UNAVAILABLE (REST 503) while Redis is down, then recovers with nothing lost", async () => {
    const kept = (await a().create({})).keyId;
    await a().create({}); // another key to hold, whatever the tests before left
    // Acquire picks at random among every available key: hold one that is not `kept`.
    let held = kept;
    while (held === kept) held = (await a().acquire({})).keyId;
    await a().release({ keyId: kept });
    const before = await b().get({ keyId: kept });

    await redis.kill();
    await waitFor(async () => (await fetch(`${http(0)}/healthz`)).status === 503);
    const started = Date.now();
    const failure = await b().get({ keyId: kept }).catch((error: ServiceError) => error);
    expect((failure as ServiceError).code).to.equal(Code.UNAVAILABLE);
    expect(Date.now() - started, "fails fast").to.be.lessThan(3000);
    const rest = await fetch(`${http(1)}/keys/${kept}`);
    expect(rest.status).to.equal(503);
    expect(await rest.json()).to.include({ code: Code.UNAVAILABLE });

    await redis.up();
    await waitFor(async () => (await fetch(`${http(0)}/healthz`)).status === 200 && (await fetch(`${http(1)}/healthz`)).status === 200);
    // Same deadlines as before the outage (absolute instants, kept by the append-only file).
    expect(await b().get({ keyId: kept })).to.deep.equal(before);
    expect((await a().get({ keyId: held })).isBlocked, "a held key stays held").to.equal(true);
    const again = new Set<string>();
    for (;;) {
      const next = await b()
        .acquire({})
        .catch((error: ServiceError) => (error.code === Code.NOT_FOUND ? undefined : Promise.reject(error)));
      if (next === undefined) break;
      again.add(next.keyId);
    }
    expect(again.has(held), "the held key is not handed out twice").to.equal(false);
    expect(again.has(kept)).to.equal(true);
  });
});

async function waitFor(condition: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (await condition().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error("condition not met in 20 s");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
