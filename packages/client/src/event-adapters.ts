import type { Disposer, Emitter } from '@tether/common';
import { EventStream } from './event-stream.js';
import type { ClientEventMap, EventListenerLike, TetherMessageEvent } from './events.js';
import type { StateChange } from './states.js';

/**
 * The client's secondary event styles, as thin adapters over its one emitter (the
 * primary API: `on`/`once`/`off` returning disposers): browser-style
 * `addEventListener`/`removeEventListener`, and async iterators over messages and
 * state changes. Nothing else lives here; every event is emitted once, by the emitter.
 */

/** Options of `addEventListener`, as in the DOM. */
export interface AddEventListenerOptions {
  once?: boolean;
  signal?: AbortSignal;
}

/** DOM-style registration over the emitter; adding the same listener twice has no effect. */
export class DomListeners {
  private readonly byType = new Map<string, Map<unknown, Disposer>>();

  constructor(private readonly events: Emitter<ClientEventMap>) {}

  add<K extends keyof ClientEventMap>(
    type: K,
    listener: EventListenerLike<ClientEventMap[K]>,
    options: AddEventListenerOptions,
  ): void {
    let byListener = this.byType.get(type);
    if (!byListener) {
      byListener = new Map();
      this.byType.set(type, byListener);
    }
    if (byListener.has(listener) || options.signal?.aborted) return;
    const call = (event: ClientEventMap[K]): void => {
      if (options.once) this.remove(type, listener);
      if (typeof listener === 'function') listener(event);
      else listener.handleEvent(event);
    };
    const dispose = this.events.on(type, call);
    const onAbort = (): void => this.remove(type, listener);
    options.signal?.addEventListener('abort', onAbort, { once: true });
    byListener.set(listener, () => {
      dispose();
      options.signal?.removeEventListener('abort', onAbort);
    });
  }

  remove<K extends keyof ClientEventMap>(
    type: K,
    listener: EventListenerLike<ClientEventMap[K]>,
  ): void {
    const byListener = this.byType.get(type);
    const dispose = byListener?.get(listener);
    if (!byListener || !dispose) return;
    byListener.delete(listener);
    if (byListener.size === 0) this.byType.delete(type);
    dispose();
  }
}

/**
 * Async iterators over `message` and `state` events, each buffered up to
 * `iteratorBufferSize` items. {@link endAll} ends them when the client reaches `closed`;
 * one opened while `ended()` starts ended.
 */
export class EventStreams {
  private readonly open = new Set<{ end(): void }>();

  constructor(
    private readonly events: Emitter<ClientEventMap>,
    private readonly bufferSize: number,
    private readonly ended: () => boolean,
  ) {}

  messages(): AsyncIterableIterator<TetherMessageEvent> {
    return this.stream<TetherMessageEvent>('message');
  }

  states(): AsyncIterableIterator<StateChange> {
    return this.stream<StateChange>('state');
  }

  /** Ends every open iterator (after the items they hold). */
  endAll(): void {
    for (const stream of [...this.open]) stream.end();
  }

  private stream<T extends TetherMessageEvent | StateChange>(
    event: 'message' | 'state',
  ): EventStream<T> {
    let dispose: Disposer = () => {};
    const stream: EventStream<T> = new EventStream<T>(this.bufferSize, () => {
      dispose();
      this.open.delete(stream);
    });
    if (this.ended()) {
      stream.end();
      return stream;
    }
    dispose = this.events.on(event, (item) => stream.push(item as T));
    this.open.add(stream);
    return stream;
  }
}
