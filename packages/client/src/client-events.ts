import { type Disposer, Emitter } from '@tether/common';
import { EventStream } from './event-stream.js';
import type { ClientEventMap, EventListenerLike, TetherMessageEvent } from './events.js';
import type { StateChange } from './states.js';

/** Options of `addEventListener`, as in the DOM. */
export interface AddEventListenerOptions {
  once?: boolean;
  signal?: AbortSignal;
}

/**
 * The event surface of the client: typed `on`/`once`/`off` returning
 * disposers, browser-style `addEventListener`/`removeEventListener`, and async
 * iterators over messages and state changes.
 */
export class ClientEvents {
  protected readonly events = new Emitter<ClientEventMap>();
  private readonly domListeners = new Map<string, Map<unknown, Disposer>>();
  private readonly streams = new Set<{ end(): void }>();

  constructor(private readonly iteratorBufferSize: number) {}

  /** Adds a listener; returns its disposer. */
  on<K extends keyof ClientEventMap>(
    event: K,
    listener: (payload: ClientEventMap[K]) => void,
  ): Disposer {
    return this.events.on(event, listener);
  }

  /** Adds a listener for the next event only; returns its disposer. */
  once<K extends keyof ClientEventMap>(
    event: K,
    listener: (payload: ClientEventMap[K]) => void,
  ): Disposer {
    return this.events.once(event, listener);
  }

  off<K extends keyof ClientEventMap>(
    event: K,
    listener: (payload: ClientEventMap[K]) => void,
  ): void {
    this.events.off(event, listener);
  }

  /** Browser-style registration; adding the same listener twice has no effect. */
  addEventListener<K extends keyof ClientEventMap>(
    type: K,
    listener: EventListenerLike<ClientEventMap[K]>,
    options: AddEventListenerOptions = {},
  ): void {
    let byListener = this.domListeners.get(type);
    if (!byListener) {
      byListener = new Map();
      this.domListeners.set(type, byListener);
    }
    if (byListener.has(listener) || options.signal?.aborted) return;
    const call = (event: ClientEventMap[K]): void => {
      if (options.once) this.removeEventListener(type, listener);
      if (typeof listener === 'function') listener(event);
      else listener.handleEvent(event);
    };
    const dispose = this.events.on(type, call);
    const onAbort = (): void => this.removeEventListener(type, listener);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    byListener.set(listener, () => {
      dispose();
      options.signal?.removeEventListener('abort', onAbort);
    });
  }

  removeEventListener<K extends keyof ClientEventMap>(
    type: K,
    listener: EventListenerLike<ClientEventMap[K]>,
  ): void {
    const byListener = this.domListeners.get(type);
    const dispose = byListener?.get(listener);
    if (!byListener || !dispose) return;
    byListener.delete(listener);
    if (byListener.size === 0) this.domListeners.delete(type);
    dispose();
  }

  /**
   * Messages from the server as an async iterator. Ends when the client
   * reaches `closed`; fails with ITERATOR_OVERFLOW when the reader falls
   * `iteratorBufferSize` messages behind.
   */
  messages(): AsyncIterableIterator<TetherMessageEvent> {
    return this.stream<TetherMessageEvent>('message');
  }

  /** State changes as an async iterator (the status stream). Ends after the change to `closed`. */
  states(): AsyncIterableIterator<StateChange> {
    return this.stream<StateChange>('state');
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<TetherMessageEvent> {
    return this.messages();
  }

  /** Whether new iterators start already ended (the client is closed). */
  protected streamsEnded(): boolean {
    return false;
  }

  /** Ends every open iterator (after the items they hold). */
  protected endStreams(): void {
    for (const stream of [...this.streams]) stream.end();
  }

  private stream<T extends TetherMessageEvent | StateChange>(
    event: 'message' | 'state',
  ): EventStream<T> {
    let dispose: Disposer = () => {};
    const stream: EventStream<T> = new EventStream<T>(this.iteratorBufferSize, () => {
      dispose();
      this.streams.delete(stream);
    });
    if (this.streamsEnded()) {
      stream.end();
      return stream;
    }
    dispose = this.events.on(event, (item) => stream.push(item as T));
    this.streams.add(stream);
    return stream;
  }
}
