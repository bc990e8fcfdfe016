import { CloseCode } from '@tether/protocol';
import type { Connection } from './connection.js';
import { SERVER_DEFAULTS } from './defaults.js';
import { errorMessage } from './frame-errors.js';
import type { SessionHost } from './session.js';
import { type SessionMessage, StoreErrorCode } from './store/index.js';

/**
 * How many times in a row an append may lose the race for the next seq to another
 * process sharing the store before its messages are refused: each loss means the other
 * process made progress, so this is never reached but by a runaway loop.
 */
const MAX_SEQ_CONFLICTS = 100;

interface PendingMessage {
  /** The encoded `data` of the message. */
  data: string;
  resolve: (seq: number) => void;
  reject: (err: unknown) => void;
}

/** The encoded `msg` frame of a reliable server message: what is stored and what is sent. */
function msgFrame(seq: number, data: string): string {
  return `{"t":"msg","seq":${seq},"data":${data}}`;
}

/**
 * Server -> client messages of one session: numbered per session, committed to the
 * store BEFORE their bytes go to any socket (so a client never holds a seq the store
 * never saw), kept until the client acknowledges them, and replayed in order after a
 * resume before anything live.
 *
 * Messages sent while a store write is running wait and go in the next write, so a
 * burst costs a few writes, not one per message. Delivery to the bound connection is
 * either `live` (each committed message goes out at once) or catching up (a replay
 * reads pages from the store as the socket drains, then switches to live when it
 * reached the last committed seq: nothing is skipped or sent twice in between).
 *
 * The base class of {@link Session} (`session.out` is the session itself): one object
 * per session instead of two, since an idle connection holds one of each.
 */
export abstract class SessionOutbox {
  abstract readonly id: string;
  /** Highest seq committed to the store. */
  private committed: number;
  /** Highest seq the client acknowledged. */
  private acked: number;
  /** Highest seq queued to the bound connection. */
  private delivered = 0;
  /** The connection messages are delivered to (bound), live or catching up. */
  private target: Connection | undefined;
  private live = false;
  /** Messages waiting for the next store write; allocated with the first (most sessions never send one). */
  private pending: PendingMessage[] | undefined;
  private appending = false;

  constructor(
    outSeq: number,
    ackedSeq: number,
    protected readonly host: SessionHost,
  ) {
    this.committed = outSeq;
    this.acked = ackedSeq;
  }

  /** The connection bound to the session; undefined while disconnected. */
  get connection(): Connection | undefined {
    return this.target;
  }

  /** Highest seq committed (what a client may acknowledge). */
  get outSeq(): number {
    return this.committed;
  }

  /** Whether messages are waiting for, or in, a store write. */
  get outBusy(): boolean {
    return this.appending || this.pending !== undefined;
  }

  /** Stores one message (`data` already encoded); resolves with its seq once committed. */
  send(data: string): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      const first = this.pending === undefined;
      this.pending ??= [];
      this.pending.push({ data, resolve, reject });
      // A microtask: every send of this synchronous burst joins the same write.
      if (first && !this.appending) queueMicrotask(() => this.append());
    });
  }

  /** A cumulative ack from the client; false when it claims a seq never sent (BAD_ACK). */
  ack(seq: number): boolean {
    if (seq > this.committed) return false;
    if (seq > this.acked) {
      this.acked = seq;
      this.host
        .track(this.host.store.trimSessionMessages(this.id, seq))
        .catch((err: unknown) => this.fault('trimming acknowledged messages failed', err));
    }
    return true;
  }

  /**
   * The store's counters, which another process sharing the store may have moved (it
   * appended, or the client acknowledged there): they only move forward.
   */
  refreshOut(outSeq: number, ackedSeq: number): void {
    this.committed = Math.max(this.committed, outSeq);
    this.acked = Math.max(this.acked, ackedSeq);
  }

  /**
   * Another process appended up to `outSeq`: a live connection reads what it misses from
   * the store (in order, after what it has); one still catching up reads on to it.
   */
  appended(outSeq: number): void {
    if (outSeq <= this.committed) return;
    this.committed = outSeq;
    const conn = this.target;
    if (conn === undefined || !this.live) return;
    this.live = false;
    void this.replay(conn, []);
  }

  /** Delivers to `connection` from `fromSeq` on (see {@link startOut}). */
  bindOut(connection: Connection, fromSeq: number): void {
    this.target = connection;
    this.live = false;
    this.delivered = fromSeq;
  }

  unbindOut(): void {
    this.target = undefined;
    this.live = false;
  }

  startOut(connection: Connection, preload: readonly SessionMessage[]): void {
    if (this.target !== connection) return;
    void this.replay(connection, preload);
  }

  /**
   * Writes what is pending in one store append. `conflicts`: how many times in a row this
   * batch lost the race for the next seq (a retry passes it on; anything else starts at 0).
   */
  private append(conflicts = 0): void {
    const batch = this.pending;
    if (this.appending || batch === undefined) return;
    this.appending = true;
    this.pending = undefined;
    const first = this.committed + 1;
    const messages = batch.map((m, i) => ({
      seq: first + i,
      payload: msgFrame(first + i, m.data),
    }));
    const { store, counters } = this.host;
    this.host.track(store.appendSessionMessages(this.id, messages)).then(
      (result) => {
        this.appending = false;
        this.committed = Math.max(this.committed, result.outSeq);
        counters.add('messagesStored', messages.length);
        counters.add('messagesDropped', result.dropped);
        for (const m of messages) this.deliver(m);
        for (const [i, m] of batch.entries()) m.resolve(first + i);
        this.append();
      },
      (err: unknown) => {
        if (isSeqConflict(err) && conflicts + 1 <= MAX_SEQ_CONFLICTS) {
          // Another process sharing the store appended first: number again after it.
          this.pending = this.pending === undefined ? batch : batch.concat(this.pending);
          this.catchUp().finally(() => {
            this.appending = false;
            this.append(conflicts + 1);
          });
          return;
        }
        this.appending = false;
        for (const m of batch) m.reject(err);
        this.append();
      },
    );
  }

  /** Reads the store's `outSeq` (another process appended): later seqs follow it. */
  private async catchUp(): Promise<void> {
    try {
      const record = await this.host.store.getSession(this.id);
      if (record !== undefined) this.appended(record.outSeq);
    } catch {
      // The next append fails the same way and says why.
    }
  }

  /** A message just committed: out at once when live and next in line. */
  private deliver(message: SessionMessage): void {
    const conn = this.target;
    if (conn === undefined || !this.live || message.seq <= this.delivered) return;
    if (message.seq !== this.delivered + 1) {
      // Cannot happen while commits arrive in order; recover by reading the store.
      this.live = false;
      void this.replay(conn, []);
      return;
    }
    if (conn.sendEncoded(message.payload)) this.delivered = message.seq;
  }

  /**
   * Sends `items`, then pages from the store, each as the socket makes room, until
   * everything committed went out; then goes live. Stops when the connection changes.
   */
  private async replay(conn: Connection, preload: readonly SessionMessage[]): Promise<void> {
    const { store, counters } = this.host;
    let items = preload;
    try {
      for (;;) {
        for (const m of items) {
          if (m.seq <= this.delivered) continue;
          if (m.seq !== this.delivered + 1) {
            this.fellBehind(conn);
            return;
          }
          const bytes = Buffer.byteLength(m.payload);
          while (!conn.roomFor(bytes)) {
            if (!(await conn.whenWritable()) || this.target !== conn) return;
          }
          if (this.target !== conn || !conn.sendEncoded(m.payload, bytes)) return;
          this.delivered = m.seq;
          counters.add('messagesReplayed');
        }
        if (this.target !== conn) return;
        if (this.delivered >= this.committed) {
          this.live = true;
          return;
        }
        // The next page only once the last one drained to the socket: a client that does
        // not read holds about one page here, not its whole log.
        const pageBytes = this.host.options.replayPageBytes;
        while (conn.pendingBytes > pageBytes) {
          if (!(await conn.whenWritable()) || this.target !== conn) return;
        }
        const page = await store.sessionMessagesAfter(
          this.id,
          this.delivered,
          SERVER_DEFAULTS.replayPageSize,
          pageBytes,
        );
        if (this.target !== conn) return;
        if (!page.complete || page.messages.length === 0) {
          this.fellBehind(conn);
          return;
        }
        items = page.messages;
      }
    } catch (err) {
      this.fault('replaying session messages failed', err);
      if (this.target === conn) conn.closeWith(CloseCode.INTERNAL_ERROR, 'replay failed');
    }
  }

  /**
   * The retention dropped messages this connection still needed while it caught up: it
   * must not go on as if nothing was missing. Closed as a slow consumer, it resumes and
   * is told `resumed: false, reason: 'gap'`.
   */
  private fellBehind(conn: Connection): void {
    this.host.logger.info(
      { sid: this.id, cid: conn.id, delivered: this.delivered },
      'client fell behind its session retention',
    );
    this.host.counters.add('slowConsumers');
    conn.closeWith(CloseCode.SLOW_CONSUMER, 'slow consumer: fell behind the session retention');
  }

  private fault(message: string, err: unknown): void {
    this.host.logger.error({ sid: this.id, err: errorMessage(err) }, message);
  }
}

function isSeqConflict(err: unknown): boolean {
  return (err as { code?: unknown } | undefined)?.code === StoreErrorCode.SEQ_CONFLICT;
}
