/**
 * Live fan-out between nodes: the append script publishes every publication on the
 * topic's channel; this subscriber connection listens, once per topic that has
 * listeners in this process (not once per client), and hands them the publications in
 * offset order. Redis pub/sub is at most once: what is lost while the connection is
 * down is read from the topic's stream by the listener (the stream is the truth).
 */
import type { Publication, SessionEvent } from '@tether/server/store';
import { Redis, type RedisOptions } from 'ioredis';

type Listener = (publication: Publication) => void;

/** Parses a node channel message: `m|{sid}|{outSeq}` (appended) or `x|{sid}` (taken over). */
export function parseSessionEvent(message: string): SessionEvent | undefined {
  if (message.startsWith('x|') && message.length > 2) {
    return { type: 'moved', sid: message.slice(2) };
  }
  if (!message.startsWith('m|')) return undefined;
  const bar = message.lastIndexOf('|');
  const outSeq = Number(message.slice(bar + 1));
  if (bar <= 2 || !Number.isSafeInteger(outSeq)) return undefined;
  return { type: 'appended', sid: message.slice(2, bar), outSeq };
}

/** Parses a channel message: `offset|epoch|time|` then `f` + frame or `d` + data. */
export function parseBrokerMessage(message: string): Publication | undefined {
  const a = message.indexOf('|');
  const b = message.indexOf('|', a + 1);
  const c = message.indexOf('|', b + 1);
  if (a < 0 || b < 0 || c < 0) return undefined;
  const offset = Number(message.slice(0, a));
  const epoch = message.slice(a + 1, b);
  const time = Number(message.slice(b + 1, c));
  const kind = message[c + 1];
  const body = message.slice(c + 2);
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(time)) return undefined;
  // With a frame, the data is inside it: listeners send the frame.
  if (kind === 'f') return { epoch, offset, time, data: '', frame: body };
  if (kind === 'd') return { epoch, offset, time, data: body, frame: null };
  return undefined;
}

/**
 * Closes a connection: QUIT when connected (replies to what is in flight arrive first),
 * else at once (QUIT would wait in the offline queue for a Redis that may never return).
 */
export async function endConnection(c: Redis): Promise<void> {
  if (c.status === 'ready') await c.quit().catch(() => undefined);
  c.disconnect();
}

export class RedisBroker {
  private connection: Redis | undefined;
  private readonly listeners = new Map<string, Set<Listener>>();
  private readonly sessionListeners = new Set<(event: SessionEvent) => void>();
  private readonly resubscribedListeners = new Set<() => void>();
  private closed = false;

  constructor(
    private readonly url: string,
    private readonly redisOptions: RedisOptions,
    private readonly prefix: string,
  ) {}

  /** Listens to `topic`'s publications; the first listener of a topic subscribes. */
  subscribe(topic: string, listener: Listener): () => void {
    let set = this.listeners.get(topic);
    if (set === undefined) {
      set = new Set();
      this.listeners.set(topic, set);
      if (!this.closed)
        this.connect()
          .subscribe(this.channel(topic))
          .catch(() => {});
    }
    set.add(listener);
    return () => {
      const current = this.listeners.get(topic);
      if (current === undefined || !current.delete(listener) || current.size > 0) return;
      this.listeners.delete(topic);
      if (!this.closed) this.connection?.unsubscribe(this.channel(topic)).catch(() => {});
    };
  }

  /**
   * Listens to the events of the sessions `node` holds (its channel `n:{node}`), which
   * the session scripts publish; the first listener subscribes.
   */
  onSessionEvent(node: string, listener: (event: SessionEvent) => void): () => void {
    if (this.sessionListeners.size === 0 && !this.closed) {
      this.connect()
        .subscribe(`${this.prefix}n:${node}`)
        .catch(() => {});
    }
    this.sessionListeners.add(listener);
    return () => {
      this.sessionListeners.delete(listener);
    };
  }

  /** Called each time the subscriptions are in place after a (re)connection. */
  onResubscribed(listener: () => void): () => void {
    this.resubscribedListeners.add(listener);
    return () => {
      this.resubscribedListeners.delete(listener);
    };
  }

  /** Topics this process listens to. */
  get topics(): number {
    return this.listeners.size;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.listeners.clear();
    this.sessionListeners.clear();
    this.resubscribedListeners.clear();
    const c = this.connection;
    this.connection = undefined;
    if (c !== undefined) await endConnection(c);
  }

  private channel(topic: string): string {
    return `${this.prefix}p:${topic}`;
  }

  private connect(): Redis {
    if (this.connection !== undefined) return this.connection;
    // Subscriptions are queued until connected and renewed after every reconnection
    // (ioredis' autoResubscribe); only the subscriber connection queues.
    const c = new Redis(this.url, {
      ...this.redisOptions,
      enableOfflineQueue: true,
      autoResubscribe: true,
      maxRetriesPerRequest: null,
    });
    const prefix = `${this.prefix}p:`;
    const nodes = `${this.prefix}n:`;
    c.on('message', (channel: string, message: string) => {
      if (channel.startsWith(nodes)) {
        const event = parseSessionEvent(message);
        if (event !== undefined) for (const listener of [...this.sessionListeners]) listener(event);
        return;
      }
      if (!channel.startsWith(prefix)) return;
      const set = this.listeners.get(channel.slice(prefix.length));
      if (set === undefined) return;
      const pub = parseBrokerMessage(message);
      if (pub === undefined) return;
      for (const listener of [...set]) listener(pub);
    });
    c.on('ready', () => {
      // Emitted (on the next tick) after ioredis renewed the subscriptions of a reconnection
      // (autoResubscribe): a PING queued behind them answers once they are in place. Events
      // published before that were lost; the listeners read the store again then.
      c.ping().then(
        () => {
          if (this.connection !== c) return;
          for (const listener of [...this.resubscribedListeners]) listener();
        },
        () => {},
      );
    });
    c.on('error', () => {
      // Reported through the store's health (its own connection sees the same outage).
    });
    this.connection = c;
    return c;
  }
}
