import { ManualClock } from '@tether/common';
import { type ClientEventMap, TetherClient, type TetherClientOptions } from '../../src/index.js';
import { fakeWebSocketFactory } from './fake-websocket.js';
import { TestEnvironment } from './test-environment.js';

/** A client on a ManualClock, a fake WebSocket and a scripted environment, with every event recorded. */
export function harness(options: TetherClientOptions = {}) {
  const clock = new ManualClock();
  const env = new TestEnvironment();
  const ws = fakeWebSocketFactory();
  // autoConnect defers the first attempt to a microtask; the harness connects
  // synchronously instead, after its listeners are in place, so tests stay synchronous.
  const client = new TetherClient('ws://tether.test/ws', {
    WebSocket: ws.WebSocket,
    clock,
    environment: env,
    ...options,
    autoConnect: false,
  });
  const seen: Array<
    { [K in keyof ClientEventMap]: { name: K; event: ClientEventMap[K] } }[keyof ClientEventMap]
  > = [];
  for (const name of [
    'state',
    'open',
    'close',
    'message',
    'error',
    'retry',
    'breaker',
    'overflow',
    'ack',
    'goodbye',
    'pub',
    'session',
    'gap',
    'subscribed',
    'unsubscribed',
    'published',
    'unreachable',
  ] as const) {
    client.on(name, (event) => seen.push({ name, event } as (typeof seen)[number]));
  }
  if (options.autoConnect !== false) void client.connect();
  const of = <K extends keyof ClientEventMap>(name: K): ClientEventMap[K][] =>
    seen.filter((e) => e.name === name).map((e) => e.event as ClientEventMap[K]);
  return {
    client,
    clock,
    env,
    ws,
    seen,
    of,
    states: () => of('state').map((s) => s.to),
    /** Resolves pending promise callbacks (token providers, settled sends). */
    flushMicrotasks: async () => {
      for (let i = 0; i < 5; i++) await Promise.resolve();
    },
  };
}
