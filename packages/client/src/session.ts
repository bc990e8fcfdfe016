import type { HelloFrame, WelcomeFrame } from '@tether/protocol';
import type { ResumeFailure, SessionEvent } from './events.js';
import { helloFrame } from './handshake.js';
import type { Inbox } from './inbox.js';
import type { Outbox } from './outbox.js';

/** What a `welcome` changed. */
export interface WelcomeOutcome {
  event: SessionEvent;
  /**
   * Reliable requests the welcome's `ack` reports as processed: they ran, and
   * their replies left with the old connection.
   */
  processedRequests: number[];
  /**
   * Reliable publishes the old session acknowledged but never answered: published once,
   * their positions unknown (the new session cannot repeat the answer).
   */
  unansweredPublishes: number[];
}

/**
 * The session as the client sees it: the id and resume token of the latest
 * `welcome`, the resume request of every `hello`, and what a `welcome` means
 * for both directions: resumed (drop what the server processed, resend the
 * rest with the same numbers) or a new session (numbering restarts at 1 for
 * both sides, the outbox is renumbered and resent, and the application is
 * told, never silently).
 */
export class SessionKeeper {
  private current: { sid: string; token: string } | undefined;
  /** The `hello` of the current connection asked to resume this session. */
  private asked: { sid: string; lastSeq: number } | undefined;

  constructor(
    private readonly inbox: Inbox,
    private readonly outbox: Outbox,
  ) {}

  get sessionId(): string | undefined {
    return this.current?.sid;
  }

  /** The first frame of a connection: asks to resume the current session, if any. */
  hello(client: HelloFrame['client'] | undefined, maxMessageBytes?: number): HelloFrame {
    const lastSeq = this.inbox.lastSeq;
    this.asked = this.current ? { sid: this.current.sid, lastSeq } : undefined;
    return helloFrame(this.current, lastSeq, client, maxMessageBytes);
  }

  welcome(welcome: WelcomeFrame): WelcomeOutcome {
    const asked = this.asked;
    this.asked = undefined;
    const resumed = welcome.resumed && asked !== undefined && asked.sid === welcome.sid;
    let reason: ResumeFailure | undefined;
    let previousLastSeq = 0;
    if (!resumed) {
      previousLastSeq = this.inbox.newSession();
      // A server that refuses a resume without saying why: the session is unknown to it.
      if (asked) reason = welcome.reason ?? 'unknown';
    }
    this.current = { sid: welcome.sid, token: welcome.token };
    const { acked, renumbered, unanswered } = this.outbox.onSession(resumed, welcome.ack);
    const unansweredPublishes = unanswered.flatMap((entry) =>
      entry.publish ? [entry.publish.id] : [],
    );
    const processedRequests: number[] = [];
    for (const entry of acked) if (entry.request) processedRequests.push(entry.request.id);
    const event: SessionEvent = {
      type: 'session',
      sessionId: welcome.sid,
      resumed,
      reason,
      previousSessionId: asked && !resumed ? asked.sid : undefined,
      previousLastSeq: asked && !resumed ? previousLastSeq : 0,
      // Only a lost session re-sends: on the first connection the outbox simply goes out.
      resent: (asked && !resumed ? renumbered : []).map(
        ({ entry, previousSeq, maybeProcessed }) => ({
          seq: entry.seq,
          previousSeq,
          data: entry.data,
          method: entry.request?.method,
          maybeProcessed,
        }),
      ),
    };
    return { event, processedRequests, unansweredPublishes };
  }
}
