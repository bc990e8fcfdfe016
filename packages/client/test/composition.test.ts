import { ManualClock } from '@tether/common';
import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { staticEnvironment, TetherClient } from '../src/index.js';

describe('TetherClient composition', () => {
  it('is composed of parts, not an inheritance chain', () => {
    expect(Object.getPrototypeOf(TetherClient.prototype)).toBe(Object.prototype);
  });

  it('delivers one event to on(), addEventListener() and an iterator alike (adapters over one emitter)', async () => {
    const client = new TetherClient('ws://127.0.0.1:9/ws', {
      WebSocket,
      autoConnect: false,
      clock: new ManualClock(),
      environment: staticEnvironment,
    });
    const seen: string[] = [];
    const dispose = client.on('state', (e) => seen.push(`on:${e.to}`));
    client.addEventListener('state', (e) => seen.push(`dom:${e.to}`));
    const states = client.states();
    await client.close();
    dispose();
    expect(seen).toEqual(['on:closed', 'dom:closed']);
    const first = await states.next();
    expect(first.value).toMatchObject({ from: 'idle', to: 'closed' });
    expect((await states.next()).done).toBe(true);
  });
});
