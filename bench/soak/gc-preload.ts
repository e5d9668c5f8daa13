/**
 * Preloaded into the soak's service process (`node --expose-gc --require …`), never into
 * the service itself: SIGUSR2 runs a full garbage collection, then prints `{"gc": n}` on
 * stdout, so the soak reads the live heap, not whatever garbage the last GC left.
 */
const collect = (globalThis as { gc?: () => void }).gc;
let collections = 0;

process.on("SIGUSR2", () => {
  collect?.();
  collections += 1;
  process.stdout.write(`${JSON.stringify({ gc: collections, exposed: collect !== undefined })}\n`);
});
