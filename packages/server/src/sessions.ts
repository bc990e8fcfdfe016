import { createHash } from 'node:crypto';
import { type Clock, Sweep } from '@tether/common';
import { CloseCode, type HelloFrame, type Json } from '@tether/protocol';
import type { Connection } from './connection.js';
import { SERVER_DEFAULTS } from './defaults.js';
import { encodeData } from './encode-data.js';
import { DeliveryError } from './errors.js';
import { KeyedQueue } from './keyed-queue.js';
import type { Logger } from './logger.js';
import type { ResolvedEndpointOptions } from './options.js';
import { randomId } from './random-id.js';
import { type SendResult, Session, type SessionGrant, type SessionHost } from './session.js';
import { SessionCluster } from './session-cluster.js';
import { invalidPayload, isGone, sessionFault } from './session-faults.js';
import type { EndpointCounters, ResumeFailure } from './stats.js';
import { checkResume, type SessionRecord, type Store } from './store/index.js';

/** What the registry needs from its endpoint. */
export interface RegistryHost {
  readonly path: string;
  readonly options: ResolvedEndpointOptions;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly counters: EndpointCounters;
  readonly store: Store;
}

/**
 * The sessions of one endpoint, backed by the server's store: a new session per hello,
 * or the resume of an earlier one (same sid, the messages it missed replayed, its
 * sequence numbers kept). Session ids carry a tag of the endpoint's path, so a session
 * of one endpoint cannot be resumed on another (also after a restart).
 *
 * The store holds what must survive (ids, token hashes, sequence counters, unacked
 * messages); this registry holds the live side: which connection is bound, what is in
 * flight, the handler chain. A session is kept in memory until its resume window
 * passes; the store's own sweep deletes it there.
 */
export class SessionRegistry {
  private readonly live = new Map<string, Session>();
  /** Resumes in progress per sid: one at a time, so two hellos cannot interleave. */
  private readonly resumes = new KeyedQueue();
  /** New sessions in progress per user: one at a time, so each counts the ones before it. */
  private readonly creates = new KeyedQueue();
  private readonly writes = new Set<Promise<unknown>>();
  private readonly tag: string;
  private readonly sessionHost: SessionHost;
  private readonly sweeper: Sweep;
  private sweeping = false;
  private readonly cluster: SessionCluster | undefined;

  constructor(private readonly host: RegistryHost) {
    this.tag = createHash('sha256').update(host.path).digest('base64url').slice(0, 6);
    this.sessionHost = {
      store: host.store,
      logger: host.logger,
      counters: host.counters,
      options: host.options,
      track: (write) => this.track(write),
    };
    this.sweeper = new Sweep(
      'tether.sessions',
      SERVER_DEFAULTS.sessionSweepMs,
      () => this.sweep(),
      host.clock,
    );
    const shared = host.store.shared;
    if (shared !== undefined) {
      this.cluster = new SessionCluster(shared, host.store, this.live, host.logger);
    }
  }

  /** Sessions held in memory (connected, or disconnected within their window). */
  get size(): number {
    return this.live.size;
  }

  /**
   * Answers a hello: resumes the session it names when the store still has it, the token
   * matches, the window has not passed and every message after `resume.seq` is retained;
   * otherwise creates a new session and says why the resume failed. Binds `connection`.
   */
  open(hello: HelloFrame, connection: Connection): Promise<SessionGrant> {
    const resume = hello.resume;
    if (resume === undefined) return this.create(connection);
    return this.resumes.run(resume.sid, () => this.resume(resume, connection));
  }

  /** The connection bound to `session` closed: the resume window starts now. */
  detach(session: Session, connectionId: string): void {
    if (session.connection?.id !== connectionId) return;
    const now = this.host.clock.now();
    const expiresAt = now + this.host.options.resumeWindowMs;
    session.unbind(expiresAt);
    // Shared: only while this process still holds it (its client may have resumed elsewhere).
    const { store } = this.host;
    const write: Promise<unknown> =
      store.shared?.detachSession(session.id, now, expiresAt) ??
      store.updateSession(session.id, { disconnectedAt: now, expiresAt });
    this.track(write).catch((err: unknown) =>
      sessionFault(this.host.logger, session.id, 'marking a session disconnected failed', err),
    );
    this.startSweep();
  }

  private startSweep(): void {
    if (this.sweeping) return;
    this.sweeping = true;
    this.sweeper.start();
  }

  /**
   * Stores a message for session `sid` and delivers it when the client is connected (at
   * once) or resumes (replayed). Resolves once it is committed to the store.
   */
  async sendTo(sid: string, data: Json): Promise<SendResult> {
    return this.sendEncoded(sid, encodeData(data, invalidPayload));
  }

  /** {@link sendTo} with `data` already encoded (encoded once for all sessions of a user). */
  private async sendEncoded(sid: string, encoded: string): Promise<SendResult> {
    let session = this.live.get(sid);
    // Shared: unless bound here, the store knows best (another process may hold it).
    if (session?.connection === undefined && this.host.store.shared !== undefined) {
      session = await this.load(sid);
    }
    session ??= await this.load(sid);
    if (session === undefined || this.expired(session)) {
      throw new DeliveryError(
        'SESSION_NOT_FOUND',
        `no session ${String(sid).slice(0, 64)} on this endpoint (never existed, or its resume window passed)`,
      );
    }
    const seq = await session.out.send(encoded);
    return { sessionId: sid, seq };
  }

  /** {@link sendTo} every session of `userId` on this endpoint; resolves with those that took it. */
  async sendToUser(userId: string, data: Json): Promise<SendResult[]> {
    const encoded = encodeData(data, invalidPayload);
    const now = this.host.clock.now();
    const records = await this.host.store.sessionsOfUser(userId);
    const targets = records.filter(
      (r) => this.owns(r.sid) && (r.expiresAt === null || r.expiresAt > now),
    );
    const settled = await Promise.allSettled(targets.map((r) => this.sendEncoded(r.sid, encoded)));
    const results: SendResult[] = [];
    for (const outcome of settled) {
      if (outcome.status === 'fulfilled') results.push(outcome.value);
      else if (!(outcome.reason instanceof DeliveryError) && !isGone(outcome.reason)) {
        // A session evicted or expired between the lookup and the write simply did not take it.
        throw outcome.reason;
      }
    }
    return results;
  }

  /** Resolves when no store write of a session is pending (shutdown waits for it). */
  async idle(): Promise<void> {
    while (this.writes.size > 0 || [...this.live.values()].some((s) => s.busy)) {
      await Promise.allSettled([...this.writes]);
      if (this.writes.size === 0) await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  dispose(): void {
    this.cluster?.dispose();
    this.sweeper.stop();
    this.sweeping = false;
  }

  private track<T>(write: Promise<T>): Promise<T> {
    this.writes.add(write);
    const done = (): void => {
      this.writes.delete(write);
    };
    write.then(done, done);
    return write;
  }

  private owns(sid: string): boolean {
    return typeof sid === 'string' && sid.startsWith(`${this.tag}.`);
  }

  private expired(session: Session): boolean {
    return (
      session.connection === undefined &&
      session.expiresAt !== undefined &&
      session.expiresAt <= this.host.clock.now()
    );
  }

  /** The in-memory session of a stored one (created from the record the first time). */
  private sessionFor(record: SessionRecord): Session {
    let session = this.live.get(record.sid);
    if (session === undefined) {
      session = new Session(record.sid, record.userId, record, this.sessionHost);
      if (record.expiresAt !== null) session.resumableUntil(record.expiresAt);
      this.live.set(record.sid, session);
    }
    session.refresh(record);
    // Held in memory unbound: the sweep forgets it once idle.
    if (session.connection === undefined) this.startSweep();
    return session;
  }

  /** A session this process does not hold yet (after a restart with a durable store). */
  private async load(sid: string): Promise<Session | undefined> {
    if (!this.owns(sid)) return undefined;
    const record = await this.host.store.getSession(sid);
    const now = this.host.clock.now();
    if (record === undefined || (record.expiresAt !== null && record.expiresAt <= now)) {
      return undefined;
    }
    return this.sessionFor(record);
  }

  /**
   * A new session for `connection`. An authenticated user's new sessions are made one at
   * a time, each after making room under `maxSessionsPerUser`, so a crowd of hellos of
   * one user cannot all count the same sessions and pass the cap together.
   */
  private create(
    connection: Connection,
    reason?: ResumeFailure,
    requested?: string,
  ): Promise<SessionGrant> {
    const user = connection.user;
    if (user === undefined) return this.createNow(connection, reason, requested);
    return this.creates.run(user, async () => {
      await this.makeRoom(user);
      return this.createNow(connection, reason, requested);
    });
  }

  /**
   * Evicts the user's oldest sessions on this endpoint until a new one fits under
   * `maxSessionsPerUser`. Disconnected sessions go first (a reloaded tab leaves one behind;
   * dropping it costs nobody anything), oldest first; then connected ones, oldest first.
   */
  private async makeRoom(user: string): Promise<void> {
    const { store, clock, options } = this.host;
    const now = clock.now();
    const held = (await store.sessionsOfUser(user)).filter(
      (r) => this.owns(r.sid) && (r.expiresAt === null || r.expiresAt > now),
    );
    const excess = held.length - (options.maxSessionsPerUser - 1);
    if (excess <= 0) return;
    const connected = (r: SessionRecord): boolean =>
      r.disconnectedAt === null || this.live.get(r.sid)?.connection !== undefined;
    // The store lists them oldest first; a stable partition keeps that order in each part.
    const order = [...held.filter((r) => !connected(r)), ...held.filter(connected)];
    await Promise.all(order.slice(0, excess).map((r) => this.evict(r.sid)));
  }

  /** Drops a session for a newer one of its user: closes its connection (4013), frees its data. */
  private evict(sid: string): Promise<unknown> {
    const session = this.live.get(sid);
    const connection = session?.connection;
    if (session !== undefined && connection !== undefined) {
      // Unbound first: the close that follows must not mark it disconnected again.
      session.unbind();
      connection.closeWith(
        CloseCode.SESSION_EVICTED,
        'too many sessions of this user: the oldest was closed',
      );
    }
    this.host.counters.add('sessionsEvicted');
    this.host.logger.info({ sid, connected: connection !== undefined }, 'session evicted');
    return this.forget(sid);
  }

  private async createNow(
    connection: Connection,
    reason?: ResumeFailure,
    requested?: string,
  ): Promise<SessionGrant> {
    const sid = `${this.tag}.${randomId(12)}`;
    const token = randomId(24);
    const userId = connection.user ?? null;
    const node = this.host.store.shared?.node;
    await this.host.store.createSession({
      sid,
      token,
      userId,
      createdAt: this.host.clock.now(),
      // In a shared store, the process that holds the connection.
      ...(node === undefined ? {} : { node }),
    });
    const session = new Session(
      sid,
      userId,
      { inSeq: 0, outSeq: 0, ackedSeq: 0 },
      this.sessionHost,
    );
    this.live.set(sid, session);
    session.bind(connection, 0);
    const grant: SessionGrant = { session, token, resumed: false, preload: [] };
    if (reason !== undefined) grant.reason = reason;
    if (requested !== undefined) grant.requested = requested;
    return grant;
  }

  private async resume(
    resume: NonNullable<HelloFrame['resume']>,
    connection: Connection,
  ): Promise<SessionGrant> {
    const { store, clock, counters } = this.host;
    const fail = (reason: ResumeFailure): Promise<SessionGrant> => {
      counters.resumeFailed(reason);
      return this.create(connection, reason, resume.sid);
    };
    if (!this.owns(resume.sid)) return fail('unknown');
    const record = await store.getSession(resume.sid);
    const check = checkResume(record, resume.token, clock.now());
    if (!check.ok) {
      if (check.reason === 'expired') this.forget(resume.sid);
      return fail(check.reason);
    }
    // The token is the bearer secret; a session also stays with the user it was made for.
    if (check.session.userId !== null && check.session.userId !== (connection.user ?? null)) {
      return fail('invalid');
    }
    const session = this.sessionFor(check.session);
    const previous = session.connection;
    // Bound before any further await: from here on a late close of the previous
    // connection no longer marks the session disconnected.
    session.bind(connection, resume.seq);
    // A new token on every resume, committed before the welcome goes out. The token just
    // used stays valid beside it until the client resumes with the new one: a welcome
    // lost with its connection must not cost the session. A copied token (a log line, a
    // proxy dump) dies once its owner has resumed with a newer one.
    const token = randomId(24);
    const reconnected = this.track(
      store.updateSession(session.id, {
        token,
        previousToken: resume.token,
        disconnectedAt: null,
        expiresAt: null,
        ...(store.shared === undefined ? {} : { node: store.shared.node }),
      }),
    );
    const replay = await store.sessionMessagesAfter(
      session.id,
      resume.seq,
      SERVER_DEFAULTS.replayPageSize,
      this.host.options.replayPageBytes,
    );
    await reconnected;
    // Appended elsewhere up to here: the replay reads on to it before going live.
    session.out.refreshOut(replay.outSeq, 0);
    if (!replay.complete) {
      // Messages after resume.seq are gone (retention overflow): the session cannot go on.
      if (session.connection === connection) session.unbind();
      previous?.closeWith(CloseCode.SESSION_REPLACED, 'session continued by another connection');
      this.forget(session.id);
      return fail('gap');
    }
    if (previous !== undefined && previous !== connection) {
      previous.closeWith(CloseCode.SESSION_REPLACED, 'session resumed by another connection');
    }
    // hello.resume.seq acknowledges every message up to it.
    if (resume.seq > 0) session.out.ack(resume.seq);
    counters.add('resumesOk');
    return {
      session,
      token,
      resumed: true,
      requested: resume.sid,
      preload: replay.messages,
    };
  }

  /** Drops a session for good (expired, or cut by a gap): from memory and the store. */
  private forget(sid: string): Promise<unknown> {
    this.live.delete(sid);
    return this.track(this.host.store.deleteSession(sid)).catch((err: unknown) =>
      sessionFault(this.host.logger, sid, 'deleting a session failed', err),
    );
  }

  /** Forgets sessions whose window passed (the store sweeps its own copy). */
  private sweep(): void {
    const now = this.host.clock.now();
    let waiting = 0;
    for (const [sid, session] of this.live) {
      if (session.connection !== undefined) continue;
      // Without a window: held for a send while another process holds it (shared store).
      const done = session.expiresAt === undefined || session.expiresAt <= now;
      if (done && !session.busy) this.live.delete(sid);
      else waiting += 1;
    }
    if (waiting === 0) {
      this.sweeper.stop();
      this.sweeping = false;
    }
  }
}
