/**
 * The client's stability vocabulary on a ManualClock: `health` levels with reasons and
 * hysteresis, `recovered` with downtime and what was carried over, explicit breaker
 * transitions, and the stability report.
 */
import { describe, expect, it } from 'vitest';
import { HEALTH_LEVELS } from '../src/index.js';
import { harness } from './helpers/harness.js';

function healthOf(h: ReturnType<typeof harness>) {
  const levels: string[] = [];
  const events: Array<{ level: string; previous: string; reasons: string[] }> = [];
  h.client.on('health', (e) => {
    levels.push(e.level);
    events.push(e);
  });
  return { levels, events };
}

describe('health events', () => {
  it('reports the first connection at once, a drop at once, and a recovery only once it held', () => {
    const h = harness({ random: () => 0, breakerThreshold: 0, autoConnect: false });
    const { levels, events } = healthOf(h);
    void h.client.connect();
    expect(h.client.health().level).toBe('degraded'); // connecting: score 60
    h.ws.last().accept();
    expect(h.client.health()).toEqual({ level: 'healthy', score: 100, reasons: [] });
    expect(levels).toEqual(['degraded', 'healthy']);

    h.clock.advance(6000); // stable: the drop is no failed attempt
    h.ws.last().drop();
    expect(h.client.health().level).toBe('unhealthy');
    expect(events.at(-1)).toMatchObject({
      level: 'unhealthy',
      previous: 'healthy',
      reasons: expect.arrayContaining(['disconnected', 'recent-drops']),
    });
    h.clock.advance(500);
    h.ws.last().accept(); // score 95, but the better level must hold
    expect(h.client.stats().health).toBe(95);
    expect(h.client.health().level).toBe('unhealthy');
    expect(h.client.health().reasons).toEqual(['recent-drops']);
    h.clock.advance(HEALTH_LEVELS.recoverAfterMs - 1000);
    expect(h.client.health().level).toBe('unhealthy');
    h.clock.advance(1000);
    expect(h.client.health().level).toBe('healthy');
    expect(levels).toEqual(['degraded', 'healthy', 'unhealthy', 'healthy']);
    void h.client.close();
  });

  it('does not flap while a connection keeps dropping before it holds', () => {
    const h = harness({ random: () => 0, breakerThreshold: 0, minReconnectDelayMs: 100 });
    const { levels } = healthOf(h);
    h.ws.last().accept();
    for (let i = 0; i < 5; i++) {
      h.ws.last().drop();
      h.clock.advance(100);
      h.ws.last().accept();
      h.clock.advance(2000);
    }
    // One change down, none back up: every reconnect dropped within the hold.
    expect(levels.slice(levels.indexOf('healthy') + 1)).toEqual(['unhealthy']);
    // Stable at last: 5 recent drops leave 75 points, degraded once that held.
    h.clock.advance(2 * HEALTH_LEVELS.recoverAfterMs);
    expect(h.client.health()).toMatchObject({ level: 'degraded', score: 75 });
    void h.client.close();
  });

  it('names offline, breaker-open and queue-filling as reasons', () => {
    const h = harness({
      random: () => 0,
      breakerThreshold: 2,
      breakerCooldownMs: 10_000,
      maxQueue: 4,
    });
    h.ws.last().accept();
    for (let i = 0; i < 2; i++) void h.client.send(i); // 2 of 4 unacked: half full
    expect(h.client.health()).toMatchObject({ level: 'degraded', reasons: ['queue-filling'] });
    h.env.goOffline();
    h.ws.last().drop();
    expect(h.client.health().reasons).toEqual(
      expect.arrayContaining(['offline', 'disconnected', 'queue-filling']),
    );
    h.env.goOnline();
    h.ws.last().drop();
    h.clock.advance(500);
    h.ws.last().drop();
    expect(h.client.state).toBe('circuit-open');
    expect(h.client.health()).toMatchObject({ level: 'unhealthy' });
    expect(h.client.health().reasons).toEqual(expect.arrayContaining(['breaker-open', 'failures']));
    void h.client.close();
  });
});

describe('recovered', () => {
  it('after a drop: downtime, the close code, attempts, and what was resent', () => {
    const h = harness({ random: () => 0, breakerThreshold: 0, minReconnectDelayMs: 1000 });
    const recovered: unknown[] = [];
    h.client.on('recovered', (e) => recovered.push(e));
    h.ws.last().accept({ sid: 'S', token: 'T' });
    h.client.subscribe('news');
    void h.client.send('a');
    void h.client.send('b');
    expect(recovered).toEqual([]); // the first connection is no recovery
    h.ws.last().serverClose(1012, 'restart');
    h.clock.advance(1000);
    h.ws.last().drop(); // a failed attempt
    h.clock.advance(2000);
    h.ws.last().accept({ sid: 'S', resumed: true, ack: 0 });
    expect(recovered).toEqual([
      {
        type: 'recovered',
        downtimeMs: 3000,
        closeCode: 1012,
        attempts: 2,
        resumed: true,
        sessionLost: undefined,
        resent: 2,
        resubscribed: 1,
      },
    ]);
    h.ws.last().drop();
    h.clock.advance(1000);
    h.ws.last().accept({ sid: 'S2', resumed: false, reason: 'expired' });
    expect(recovered.at(-1)).toMatchObject({
      closeCode: 1006,
      downtimeMs: 1000,
      attempts: 1,
      resumed: false,
      sessionLost: 'expired',
      resent: 2,
    });
    const report = h.client.stabilityReport();
    expect(report).toMatchObject({
      attempts: 4,
      connects: 3,
      drops: 2,
      dropsByCode: { 1012: 1, 1006: 1 },
      recoveries: 2,
      resumed: 1,
      sessionsLost: 1,
      resent: 4,
      downtime: { totalMs: 4000, maxMs: 3000, lastMs: 1000 },
      breakerOpens: 0,
      state: 'open',
    });
    void h.client.close();
  });

  it('not after close() and connect()', async () => {
    const h = harness();
    const recovered: unknown[] = [];
    h.client.on('recovered', (e) => recovered.push(e));
    h.ws.last().accept();
    await h.client.close();
    void h.client.connect();
    h.ws.last().accept();
    expect(recovered).toEqual([]);
    void h.client.close();
  });
});

describe('breaker transitions', () => {
  it('says open, probe and close explicitly, and keeps the snapshot fields', () => {
    const h = harness({ random: () => 0, breakerThreshold: 2, breakerCooldownMs: 1000 });
    h.ws.last().drop();
    h.clock.advance(500);
    h.ws.last().drop();
    h.clock.advance(1000);
    h.ws.last().accept();
    const events = h.of('breaker');
    expect(events.map((e) => [e.previous, e.transition, e.state])).toEqual([
      ['closed', 'count', 'closed'],
      ['closed', 'open', 'open'],
      ['open', 'probe', 'half-open'],
      ['half-open', 'close', 'closed'],
    ]);
    expect(events[1]).toMatchObject({ failures: 2, threshold: 2, opens: 1 });
    void h.client.close();
  });
});

describe('stability report', () => {
  it('splits the time over the health levels and counts breaker opens', () => {
    const h = harness({
      random: () => 0,
      breakerThreshold: 1,
      breakerCooldownMs: 4000,
      autoConnect: false,
    });
    const { levels } = healthOf(h);
    void h.client.connect();
    h.ws.last().accept();
    h.clock.advance(10_000); // healthy
    h.ws.last().drop();
    h.clock.advance(500);
    h.ws.last().drop(); // the breaker opens
    h.clock.advance(4000);
    h.ws.last().accept();
    h.clock.advance(HEALTH_LEVELS.recoverAfterMs); // unhealthy until the better level held
    h.clock.advance(1000);
    const report = h.client.stabilityReport();
    expect(report.breakerOpens).toBe(1);
    expect(report.durationMs).toBe(10_000 + 500 + 4000 + HEALTH_LEVELS.recoverAfterMs + 1000);
    const { healthy, degraded, unhealthy } = report.healthTimeMs;
    expect(healthy + degraded + unhealthy).toBe(report.durationMs);
    expect(unhealthy).toBeGreaterThanOrEqual(4500);
    expect(healthy).toBeGreaterThanOrEqual(10_000);
    expect(report.healthChanges).toBe(levels.length);
    expect(levels).toEqual(['degraded', 'healthy', 'unhealthy', 'healthy']);
    void h.client.close();
  });
});
