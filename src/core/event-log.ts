import { DomainError } from "./errors";
import { KEY_EVENT_TYPES, type KeyEvent, type KeyEventType } from "./events";
import { ID_CHARS } from "./key-id-table";

/** A key event with its place in the pool's history: one more than the event before it. */
export interface RevisionedEvent extends KeyEvent {
  readonly revision: number;
}

/**
 * The pool's recent history for Watch: every event gets the next revision, and the
 * last `retention` events are kept in a ring (fixed memory, O(1) append, O(count)
 * read), as etcd keeps a compacted window of its revisions. Reading from a revision
 * older than the window is out_of_range: the watcher has missed events it can no
 * longer get, and must start again from a later one.
 *
 * The ring is columns, not objects: an expiry storm appends a million events, and an
 * object each (kept until overwritten, so promoted to the old generation) made the
 * garbage collector the storm's largest cost. Objects are made only for a reader.
 * Key ids are kept as their characters' bytes, not as strings, for the same reason
 * under a steady load: each call's id string, held for the window's 10,000 events
 * (half a second at 20,000 calls/s), outlived two scavenges and was promoted, and the
 * old generation's collections took 16% of a gRPC Acquire+Release call's CPU.
 */
export class EventLog {
  private readonly types: Uint8Array;
  private readonly ats: Float64Array;
  /** The lease, or NaN for none. */
  private readonly leases: Float64Array;
  /** ID_CHARS bytes per event: a canonical id's characters (base64url, so one byte each). */
  private readonly idChars: Buffer;
  /** Ring slots whose id is not ID_CHARS one-byte characters (an injected id generator's): kept as strings. */
  private readonly otherIds = new Map<number, string>();
  /** The revision of the last event appended (0: none yet). */
  private lastRevision: number;
  /** The first revision this log ever held (history before it lives elsewhere, or nowhere). */
  private firstHeld: number;

  constructor(
    readonly retention: number,
    /** The revision the log continues from (a store that keeps its history elsewhere). */
    startAfter = 0,
  ) {
    if (!Number.isInteger(retention) || retention < 1) throw new RangeError(`retention must be a whole number ≥ 1: ${retention}`);
    this.types = new Uint8Array(retention);
    this.ats = new Float64Array(retention);
    this.leases = new Float64Array(retention);
    this.idChars = Buffer.alloc(retention * ID_CHARS);
    this.lastRevision = startAfter;
    this.firstHeld = startAfter + 1;
  }

  /** The revision of the last event (0 before any). */
  get last(): number {
    return this.lastRevision;
  }

  /** The oldest revision still held (last + 1 when the log is empty). */
  get oldest(): number {
    return Math.max(1, this.lastRevision - this.retention + 1, this.firstHeld);
  }

  /** Appends an event under the next revision, evicting the oldest beyond the retention; answers the revision. */
  append(event: KeyEvent): number {
    this.store(this.lastRevision + 1, event);
    return this.lastRevision;
  }

  /**
   * Keeps an event that already has its revision (made elsewhere: a Redis script). It
   * must follow the last one; a gap (events this log never saw) restarts the window
   * at it, so nothing before the gap is served as if it were complete.
   */
  put(event: RevisionedEvent): void {
    if (event.revision <= this.lastRevision) return; // seen already
    if (event.revision !== this.lastRevision + 1) this.firstHeld = event.revision;
    this.store(event.revision, event);
  }

  /**
   * Up to `max` events from revision `from` on, in order: [] when `from` is past the
   * last. out_of_range when `from` is older than the window.
   */
  read(from: number, max: number): RevisionedEvent[] {
    if (from < this.oldest) {
      throw new DomainError("out_of_range", `the revision asked for is no longer retained; the oldest is ${this.oldest}`);
    }
    const events: RevisionedEvent[] = [];
    for (let revision = from; revision <= this.lastRevision && events.length < max; revision += 1) {
      const slot = revision % this.retention;
      const lease = this.leases[slot] as number;
      events.push({
        revision,
        type: KEY_EVENT_TYPES[this.types[slot] as number] as KeyEventType,
        keyId: this.otherIds.get(slot) ?? this.idChars.toString("latin1", slot * ID_CHARS, slot * ID_CHARS + ID_CHARS),
        at: this.ats[slot] as number,
        ...(Number.isNaN(lease) ? {} : { lease }),
      });
    }
    return events;
  }

  /** Whether `from` is still held (or in the future). */
  holds(from: number): boolean {
    return from >= this.oldest;
  }

  private store(revision: number, event: KeyEvent): void {
    const slot = revision % this.retention;
    this.types[slot] = TYPE_INDEX[event.type];
    this.ats[slot] = event.at;
    this.leases[slot] = event.lease ?? Number.NaN;
    this.storeKeyId(slot, event.keyId);
    this.lastRevision = revision;
  }

  private storeKeyId(slot: number, keyId: string): void {
    if (this.otherIds.size > 0) this.otherIds.delete(slot);
    const { idChars } = this;
    const start = slot * ID_CHARS;
    let wide = keyId.length !== ID_CHARS;
    for (let i = 0; i < ID_CHARS && !wide; i += 1) {
      const code = keyId.charCodeAt(i);
      idChars[start + i] = code;
      wide = code > 0xff;
    }
    if (wide) this.otherIds.set(slot, keyId);
  }
}

const TYPE_INDEX = Object.fromEntries(KEY_EVENT_TYPES.map((type, index) => [type, index])) as Readonly<Record<KeyEventType, number>>;
