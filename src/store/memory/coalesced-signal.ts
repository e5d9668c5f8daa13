/**
 * Listeners told that something happened, a microtask later and once for any number of
 * signals before then: never inside the pool call that caused it (a waiting acquire or a
 * watcher must not run there), and never once per key in a storm of a million.
 */
export class CoalescedSignal {
  private readonly listeners = new Set<() => void>();
  private pending = false;

  /** Adds a listener; answers the way to remove it. */
  listen(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  signal(): void {
    if (this.pending || this.listeners.size === 0) return;
    this.pending = true;
    queueMicrotask(() => {
      this.pending = false;
      for (const listener of this.listeners) listener();
    });
  }
}
