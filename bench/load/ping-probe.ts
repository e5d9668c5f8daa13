/**
 * The Redis storms' PING probe, in a process of its own at real-time priority
 * (storm-redis.ts starts it): a PING every `everyMs` on its own connection, whether or
 * not the previous one came back, so while Redis runs a long command they queue and each
 * round trip is how long a client arriving then waited. Its own process, so that the
 * round trips are Redis's and not the bench's event loop (in the bench's process, a PING
 * read 846 ms while SLOWLOG's slowest command was 14 ms).
 *
 *   node ping-probe.js REDIS_URL EVERY_MS    prints {"ready":true}; on the stdin line "stop",
 *                                             {"samples":[[sent at (epoch ms), round trip (ms)], ...]}, then exits
 */
import { performance } from "node:perf_hooks";
import { createInterface } from "node:readline";
import Redis from "ioredis";

async function main(): Promise<void> {
  const [url, every] = process.argv.slice(2);
  if (url === undefined || !(Number(every) > 0)) throw new Error("usage: ping-probe REDIS_URL EVERY_MS");
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  redis.on("error", () => undefined); // a failed PING shows as a missing sample
  await redis.ping();
  const samples: [number, number][] = [];
  const timer = setInterval(() => {
    const sent = Date.now();
    const started = performance.now();
    redis.ping().then(
      () => samples.push([sent, performance.now() - started]),
      () => undefined,
    );
  }, Number(every));
  console.log(JSON.stringify({ ready: true }));
  for await (const line of createInterface({ input: process.stdin })) {
    if (line.trim() !== "stop") continue;
    clearInterval(timer);
    await redis.ping().catch(() => undefined); // answered after every earlier one: same connection, in order
    console.log(JSON.stringify({ samples }));
    redis.disconnect();
    return;
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
