import type { MessageInitShape } from "@bufbuild/protobuf";
import { DomainError } from "../core/errors";
import { type KeyEventSchema, KeyEventType } from "../generated/tokens/v1/tokens_pb";
import type { EventFeed, RevisionedEvent } from "../store/port";
import type { ResponseSink } from "./bind";
import { CallError, Code } from "./status";
import { timestampOf } from "./wkt";

/** Events read from the feed at a time: a watcher far behind catches up in bounded steps. */
const BATCH = 256;

export interface WatchLimits {
  /** Aborts when the service begins to stop: every watch ends at once with UNAVAILABLE, naming where to resume (on another instance). */
  readonly stopping?: AbortSignal;
  /**
   * How long one answer may wait for the caller to take it (ms). A watcher that reads
   * slower than the pool changes is dropped with RESOURCE_EXHAUSTED, naming the revision
   * to resume from, rather than buffered without limit.
   */
  readonly stallMs: number;
}

const TYPE_OF: Readonly<Record<RevisionedEvent["type"], KeyEventType>> = {
  CREATED: KeyEventType.CREATED,
  ACQUIRED: KeyEventType.ACQUIRED,
  RELEASED: KeyEventType.RELEASED,
  AUTO_RELEASED: KeyEventType.AUTO_RELEASED,
  COOLDOWN_STARTED: KeyEventType.COOLDOWN_STARTED,
  KEPT_ALIVE: KeyEventType.KEPT_ALIVE,
  EXPIRED: KeyEventType.EXPIRED,
  DELETED: KeyEventType.DELETED,
};

function keyEventOf(event: RevisionedEvent): MessageInitShape<typeof KeyEventSchema> {
  return {
    revision: BigInt(event.revision),
    type: TYPE_OF[event.type],
    keyId: event.keyId,
    at: timestampOf(event.at),
    ...(event.lease === undefined ? {} : { lease: BigInt(event.lease) }),
  };
}

/**
 * Streams the pool's events from `startRevision` (inclusive; 0: from the next event on)
 * until the caller leaves. A revision no longer retained is OUT_OF_RANGE before the
 * stream opens; a watcher that falls behind the retention while streaming gets it too.
 * Waiting costs nothing: the loop sleeps until the feed says something was appended.
 */
export async function streamEvents(feed: EventFeed, startRevision: bigint, signal: AbortSignal, sink: ResponseSink<typeof KeyEventSchema>, limits: WatchLimits): Promise<void> {
  if (startRevision > BigInt(Number.MAX_SAFE_INTEGER)) throw new DomainError("invalid_argument", "start_revision is too large");
  let appended = true;
  let wake: (() => void) | undefined;
  const unsubscribe = feed.onAppend(() => {
    appended = true;
    wake?.();
  });
  const onAbort = (): void => wake?.();
  signal.addEventListener("abort", onAbort);
  limits.stopping?.addEventListener("abort", onAbort);
  try {
    let next = startRevision > 0n ? Number(startRevision) : (await feed.last()) + 1;
    appended = false;
    let batch = await feed.read(next, BATCH); // out_of_range here is the call's answer
    await sink.open();
    while (!signal.aborted) {
      for (const event of batch) {
        if (limits.stopping?.aborted) throw stoppingAt(next);
        await sendWithin(sink, keyEventOf(event), limits.stallMs, event.revision);
        next = event.revision + 1;
      }
      if (batch.length < BATCH && !appended && !signal.aborted && limits.stopping?.aborted !== true) {
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
      if (signal.aborted) return;
      if (limits.stopping?.aborted) throw stoppingAt(next);
      appended = false;
      batch = await feed.read(next, BATCH);
    }
  } finally {
    unsubscribe();
    signal.removeEventListener("abort", onAbort);
    limits.stopping?.removeEventListener("abort", onAbort);
  }
}

/** Why a watch ends when the service stops: the caller resumes elsewhere from `next`, missing nothing. */
function stoppingAt(next: number): CallError {
  return new CallError(Code.UNAVAILABLE, `the service is stopping; resume from revision ${next}`);
}

/** Sends one event, or drops the watcher when the caller has not taken it in time. */
async function sendWithin(sink: ResponseSink<typeof KeyEventSchema>, event: MessageInitShape<typeof KeyEventSchema>, stallMs: number, revision: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const stalled = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new CallError(Code.RESOURCE_EXHAUSTED, `the watcher read too slowly and was dropped; resume from revision ${revision}`)),
      stallMs,
    );
  });
  const sent = sink.send(event);
  sent.catch(() => undefined); // when the watcher is dropped first, the send's own failure is no news
  try {
    await Promise.race([sent, stalled]);
  } finally {
    clearTimeout(timer);
  }
}
