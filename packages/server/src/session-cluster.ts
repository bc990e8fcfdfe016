import { CloseCode } from '@tether/protocol';
import { errorMessage } from './frame-errors.js';
import type { Logger } from './logger.js';
import type { Session } from './session.js';
import type { SessionEvent, SharedStore, Store } from './store/index.js';

/**
 * The sessions of one endpoint among the other processes sharing the store (the Redis
 * store): messages another process appended to a session bound here go to its client at
 * once (`appended`); a session a resume on another process took over is let go here, its
 * old connection closed (`moved`); after an outage, when such events may have been
 * missed, every bound session reads its `outSeq` from the store again: when the store is
 * back, and again once this process's subscriptions are (`onResubscribed`).
 */
export class SessionCluster {
  private readonly stops: Array<() => void>;
  private down = false;

  constructor(
    private readonly shared: SharedStore,
    private readonly store: Store,
    /** The registry's sessions in memory, by sid. */
    private readonly live: Map<string, Session>,
    private readonly logger: Logger,
  ) {
    this.stops = [
      shared.onSessionEvent((event) => this.event(event)),
      shared.onHealth((health) => {
        if (!health.up) this.down = true;
        else if (this.down) {
          this.down = false;
          this.resyncAll();
        }
      }),
      // Again once the node channel is subscribed again: the read above may have come
      // before that, and an append in between was announced to nobody.
      shared.onResubscribed(() => this.resyncAll()),
    ];
  }

  dispose(): void {
    for (const stop of this.stops.splice(0)) stop();
  }

  private event(event: SessionEvent): void {
    const session = this.live.get(event.sid);
    if (session?.connection === undefined) return;
    if (event.type === 'appended') session.out.appended(event.outSeq);
    else this.moved(session);
  }

  /**
   * Another process took the session over. Checked against the store first: the event
   * may be older than a resume back to this process, and the connection compared after
   * the read, so a connection bound meanwhile is never closed by a stale event.
   */
  private moved(session: Session): void {
    const connection = session.connection;
    this.store.getSession(session.id).then(
      (record) => {
        if (session.connection !== connection || connection === undefined) return;
        if (record !== undefined && record.node === this.shared.node) return;
        session.unbind();
        // Only from memory: the process that took it over holds it in the store.
        if (this.live.get(session.id) === session) this.live.delete(session.id);
        connection.closeWith(CloseCode.SESSION_REPLACED, 'session resumed on another node');
      },
      (err: unknown) => this.fault(session, err),
    );
  }

  private resyncAll(): void {
    for (const session of this.live.values()) if (session.connection) this.resync(session);
  }

  private resync(session: Session): void {
    this.store.getSession(session.id).then(
      (record) => {
        if (record !== undefined) session.out.appended(record.outSeq);
      },
      (err: unknown) => this.fault(session, err),
    );
  }

  private fault(session: Session, err: unknown): void {
    this.logger.warn(
      { sid: session.id, err: errorMessage(err) },
      'reading a shared session failed',
    );
  }
}
