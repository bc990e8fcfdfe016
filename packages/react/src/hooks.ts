import type {
  ClientEventMap,
  GapEvent,
  PubEvent,
  RequestOptions,
  SubscribeOptions,
  Subscription,
  SubscriptionState,
  TetherClient,
} from '@tether/client';
import { TetherError } from '@tether/common';
import type { Json, Position } from '@tether/protocol';
import { useCallback, useEffect, useRef, useState, useSyncExternalStore } from 'react';
import { useTetherClient } from './provider.js';
import { noClientSnapshot, storeOf, type TetherSnapshot } from './store.js';

/** Options of {@link useTether}. */
export interface UseTetherOptions {
  /**
   * Also re-render every this many ms with fresh `stats` (counters move with every
   * message, which alone never re-renders). Default 0: only on connection events.
   */
  statsIntervalMs?: number;
}

/** What {@link useTether} returns. */
export interface UseTether extends TetherSnapshot {
  /** The client (null until a `url` provider created it). */
  client: TetherClient | null;
  /** `client.send(data)`: resolves when the server acknowledged it. */
  send(data: Json): Promise<void>;
  /** `client.request(method, data, options)`. */
  request<T extends Json = Json>(method: string, data?: Json, options?: RequestOptions): Promise<T>;
}

/** Thrown by `send`/`request` of a hook that has no client yet. */
export class NoClientError extends TetherError {
  constructor(what: string) {
    super('NO_CLIENT', `${what}: no Tether client yet (use it inside <TetherProvider>)`, {
      retryable: true,
    });
    this.name = 'NoClientError';
  }
}

const noop = (): void => {};

/**
 * The connection's live state, health and stats, plus `send` and `request`. Re-renders
 * when the state, health, breaker or a connection changes, not on every message.
 */
export function useTether(options: UseTetherOptions = {}): UseTether {
  const client = useTetherClient();
  const interval = options.statsIntervalMs ?? 0;
  if (!Number.isFinite(interval) || interval < 0)
    throw new RangeError(`useTether(): statsIntervalMs must be 0 or more, got ${interval}`);
  const subscribe = useCallback(
    (onChange: () => void) => (client ? storeOf(client).subscribe(onChange) : noop),
    [client],
  );
  const getSnapshot = useCallback(
    () => (client ? storeOf(client).get() : noClientSnapshot()),
    [client],
  );
  const snapshot = useSyncExternalStore(subscribe, getSnapshot, getSnapshot);
  useEffect(() => {
    if (!client || interval === 0) return;
    const timer = setInterval(() => storeOf(client).refresh(), interval);
    return () => clearInterval(timer);
  }, [client, interval]);
  const send = useCallback(
    (data: Json) =>
      client ? client.send(data) : Promise.reject(new NoClientError('useTether().send')),
    [client],
  );
  const request = useCallback(
    <T extends Json = Json>(method: string, data?: Json, opts?: RequestOptions): Promise<T> =>
      client
        ? client.request<T>(method, data, opts)
        : Promise.reject(new NoClientError('useTether().request')),
    [client],
  );
  return { ...snapshot, client, send, request };
}

/** Options of {@link useSubscription}. */
export interface UseSubscriptionOptions extends SubscribeOptions {
  /** Keep at most this many publications in `items` (the oldest go first). Default 100. */
  maxItems?: number;
}

/** What {@link useSubscription} returns. */
export interface UseSubscription {
  /** The latest publications, oldest first, at most `maxItems`. */
  items: PubEvent[];
  /** Publications delivered since the subscription started (also those no longer in `items`). */
  received: number;
  /** The last publication delivered; save it to continue with `from` later. */
  position: Position | undefined;
  /** Every gap signal, oldest first (at most `maxItems`). */
  gaps: GapEvent[];
  state: SubscriptionState | 'idle';
  /** The server's refusal (FORBIDDEN, ...), when there was one. */
  error: TetherError | undefined;
}

/** Default of {@link UseSubscriptionOptions.maxItems}. */
export const DEFAULT_MAX_ITEMS = 100;

interface SubState {
  items: PubEvent[];
  received: number;
  gaps: GapEvent[];
  state: SubscriptionState | 'idle';
  error: TetherError | undefined;
  position: Position | undefined;
}

const EMPTY: SubState = {
  items: [],
  received: 0,
  gaps: [],
  state: 'idle',
  error: undefined,
  position: undefined,
};

/**
 * Subscribes to `topic` while the component is mounted: publications once and in order
 * across reconnects, the explicit gap signal, and the position. Unmounting (or a new
 * `topic`) unsubscribes and removes every listener. `from` and `last` are read when the
 * subscription starts.
 */
export function useSubscription(
  topic: string,
  options: UseSubscriptionOptions = {},
): UseSubscription {
  const client = useTetherClient();
  const maxItems = options.maxItems ?? DEFAULT_MAX_ITEMS;
  if (!Number.isInteger(maxItems) || maxItems < 1)
    throw new RangeError(`useSubscription(): maxItems must be a positive integer, got ${maxItems}`);
  const start = useRef<SubscribeOptions>({});
  start.current = { from: options.from, last: options.last };
  const [sub, setSub] = useState<SubState>(EMPTY);
  useEffect(() => {
    if (!client) return;
    const { from, last } = start.current;
    const subscribeOptions: SubscribeOptions = {};
    if (from !== undefined) subscribeOptions.from = from;
    if (last !== undefined) subscribeOptions.last = last;
    let subscription: Subscription;
    try {
      subscription = client.subscribe(topic, subscribeOptions);
    } catch (err) {
      setSub({ ...EMPTY, error: err instanceof TetherError ? err : undefined });
      return;
    }
    setSub({ ...EMPTY, state: subscription.state, position: subscription.position });
    const update = (change: (s: SubState) => Partial<SubState>): void =>
      setSub((s) => ({
        ...s,
        ...change(s),
        state: subscription.state,
        position: subscription.position,
      }));
    const disposers = [
      subscription.on('pub', (pub) =>
        update((s) => ({ items: [...s.items, pub].slice(-maxItems), received: s.received + 1 })),
      ),
      subscription.on('gap', (gap) => update((s) => ({ gaps: [...s.gaps, gap].slice(-maxItems) }))),
      subscription.on('subscribed', () => update(() => ({}))),
      subscription.on('unsubscribed', () => update(() => ({}))),
      subscription.on('error', ({ error }) => update(() => ({ error }))),
    ];
    return () => {
      for (const dispose of disposers) dispose();
      void subscription.unsubscribe().catch(() => {});
    };
  }, [client, topic, maxItems]);
  return sub;
}

/**
 * Calls `handler` for every `name` event of the client while the component is mounted.
 * The latest `handler` is called (no re-subscription when it changes); unmounting
 * removes the listener.
 */
export function useTetherEvent<K extends keyof ClientEventMap>(
  name: K,
  handler: (event: ClientEventMap[K]) => void,
): void {
  const client = useTetherClient();
  const latest = useRef(handler);
  latest.current = handler;
  useEffect(() => {
    if (!client) return;
    return client.on(name, (event) => latest.current(event));
  }, [client, name]);
}
