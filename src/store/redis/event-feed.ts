import type Redis from "ioredis";
import { DomainError } from "../../core/errors";
import { EventLog, type RevisionedEvent } from "../../core/event-log";
import type { KeyEventType } from "../../core/events";
import type { EventFeed } from "../port";

/** How long one XREAD blocks before it is issued again (ms): also how soon a closed feed stops. */
const BLOCK_MS = 5000;
/** Most entries one XREAD or XRANGE returns: every read stays a bounded piece of work. */
const BATCH = 500;

/** Lease -1 in a stream entry: none. */
const ABSENT = -1;

type StreamEntry = [id: string, fields: string[]];

/**
 * The pool's events on Redis, for Watch: the scripts append each event to one Redis
 * Stream (id "<revision>-0") in the same script as its change. This instance follows
 * that stream with one blocking XREAD on a connection of its own, started when the
 * first watcher subscribes, and keeps the last `retention` events in a local ring, so
 * watchers here read from memory; a watcher behind that ring reads the stream itself
 * (XRANGE, a bounded batch at a time), as far back as the stream still holds.
 */
export class RedisEventFeed implements EventFeed {
  private readonly recent: EventLog;
  private readonly listeners = new Set<() => void>();
  private reader: Redis | undefined;
  private closed = false;

  constructor(
    private readonly redis: Redis,
    private readonly keys: { readonly revision: string; readonly events: string },
    retention: number,
  ) {
    this.recent = new EventLog(retention);
  }

  async last(): Promise<number> {
    return Number((await this.redis.get(this.keys.revision)) ?? 0);
  }

  async read(from: number, max: number): Promise<readonly RevisionedEvent[]> {
    if (from <= this.recent.last && this.recent.holds(from)) return this.recent.read(from, max);
    // The counter, then the stream, in one MULTI: an event appended after the counter was read
    // is in the range, so "nothing at `from`" with a counter at or past it means trimmed, never
    // "appended between two round trips" (read apart, a busy pool made a watch from now OUT_OF_RANGE).
    const replies = await this.redis.multi().get(this.keys.revision).xrange(this.keys.events, `${from}-0`, "+", "COUNT", Math.min(max, BATCH)).exec();
    const [[counterError, counter] = [], [rangeError, range] = []] = replies ?? [];
    if (counterError || rangeError) throw counterError ?? rangeError;
    const events = ((range ?? []) as StreamEntry[]).map(toEvent);
    const first = events[0];
    if (first === undefined) {
      // Nothing at or after `from`: either it is still to come, or the stream was trimmed past it.
      if (from <= Number(counter ?? 0)) throw outOfRange();
      return [];
    }
    if (first.revision !== from) throw outOfRange();
    return events;
  }

  onAppend(listener: () => void): () => void {
    this.listeners.add(listener);
    if (this.reader === undefined && !this.closed) this.follow();
    return () => this.listeners.delete(listener);
  }

  close(): void {
    this.closed = true;
    this.reader?.disconnect();
    this.reader = undefined;
  }

  /**
   * Follows the stream on a connection of its own (XREAD BLOCK holds it), from its
   * start: the ring fills with what the stream retains, and no event can slip between
   * a watcher's first read and the reader's first XREAD.
   */
  private follow(): void {
    // Its own timeout: a blocking read legitimately takes BLOCK_MS.
    const reader = this.redis.duplicate({ commandTimeout: BLOCK_MS + 2000, enableAutoPipelining: false });
    reader.on("error", () => undefined); // a broken connection shows as a failed read, below
    this.reader = reader;
    void (async () => {
      let after = "0-0";
      while (!this.closed) {
        try {
          const reply = (await reader.xread("COUNT", BATCH, "BLOCK", BLOCK_MS, "STREAMS", this.keys.events, after)) as [string, StreamEntry[]][] | null;
          const entries = reply?.[0]?.[1] ?? [];
          if (entries.length === 0) continue;
          for (const entry of entries) this.recent.put(toEvent(entry));
          after = (entries[entries.length - 1] as StreamEntry)[0];
          for (const listener of this.listeners) listener();
        } catch {
          if (this.closed) return;
          // Redis is away: wait a moment, then carry on from where we were (watchers read any gap with XRANGE).
          await new Promise((resolve) => setTimeout(resolve, 500).unref());
        }
      }
    })();
  }
}

function toEvent([id, fields]: StreamEntry): RevisionedEvent {
  const field = (name: string): string => fields[fields.indexOf(name) + 1] ?? "";
  const lease = Number(field("l"));
  return {
    revision: Number(id.slice(0, id.indexOf("-"))),
    type: field("t") as KeyEventType,
    keyId: field("k"),
    at: Number(field("a")),
    ...(lease === ABSENT ? {} : { lease }),
  };
}

function outOfRange(): DomainError {
  return new DomainError("out_of_range", "the revision asked for is no longer retained");
}
