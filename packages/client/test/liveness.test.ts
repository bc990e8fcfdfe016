import { describe, expect, it } from 'vitest';
import { harness } from './helpers/harness.js';

const hb = { interval: 1000, timeout: 500 };

describe('heartbeat', () => {
  it('sends an app ping when idle and closes with 4008 when nothing answers', () => {
    const h = harness({ random: () => 0 });
    const socket = h.ws.last();
    socket.accept({ hb });
    h.clock.advance(999);
    expect(socket.framesOfType('ping')).toHaveLength(0);
    h.clock.advance(1);
    expect(socket.framesOfType('ping')).toHaveLength(1);
    h.clock.advance(499);
    expect(h.client.state).toBe('open');
    h.clock.advance(1);
    expect(h.of('close')[0]).toMatchObject({ code: 4008, willReconnect: true });
    expect(h.client.state).toBe('reconnecting');
    expect(socket.closeCalls[0]?.code).toBe(4008);
    void h.client.close();
  });

  it('any traffic answers: a chatty server keeps the connection without pings', () => {
    const h = harness();
    const socket = h.ws.last();
    socket.accept({ hb });
    for (let i = 0; i < 20; i++) {
      h.clock.advance(400);
      socket.receive({ t: 'msg', data: i });
      socket.receive({ t: 'ping', ts: h.clock.now() });
    }
    expect(h.client.state).toBe('open');
    // The client still pings when it has sent nothing for an interval (the server must hear from it).
    expect(socket.framesOfType('pong').length).toBe(20);
    void h.client.close();
  });

  it('answers server pings with pong and measures RTT from its own pings', () => {
    const h = harness();
    const socket = h.ws.last();
    socket.accept({ hb });
    socket.receive({ t: 'ping', ts: 123 });
    expect(socket.framesOfType('pong')[0]).toEqual({ t: 'pong', ts: 123, rts: h.clock.now() });
    h.clock.advance(1000);
    const ping = socket.framesOfType('ping')[0] as { ts: number };
    h.clock.advance(40);
    socket.receive({ t: 'pong', ts: ping.ts, rts: 0 });
    expect(h.client.stats().rttMs).toBe(40);
    expect(h.client.state).toBe('open');
    void h.client.close();
  });

  it('a check that runs late (throttled or frozen tab) re-pings instead of a false timeout', () => {
    const h = harness();
    const socket = h.ws.last();
    socket.accept({ hb });
    h.clock.advance(1000); // ping out
    expect(socket.framesOfType('ping')).toHaveLength(1);
    // The page froze for a minute: wall time moved, timers did not fire.
    h.clock.skewWallClock(60_000);
    h.clock.advance(500); // the overdue check runs now
    expect(h.client.state).toBe('open');
    expect(socket.framesOfType('ping')).toHaveLength(2);
    // The answer was waiting in the socket.
    socket.receive({ t: 'pong', ts: 0, rts: 0 });
    h.clock.advance(500);
    expect(h.client.state).toBe('open');
    void h.client.close();
  });

  it('a dead link is still caught when every check runs late (intensive throttling)', () => {
    const h = harness({ random: () => 0 });
    const socket = h.ws.last();
    socket.accept({ hb });
    // Every timer fires a minute late from now on; the server never answers.
    for (let i = 0; i < 3 && h.client.state === 'open'; i++) {
      h.clock.skewWallClock(60_000);
      h.clock.advance(1000);
    }
    expect(h.of('close')[0]?.code).toBe(4008);
    expect(h.client.state).toBe('reconnecting');
    void h.client.close();
  });

  it('compares wall-clock silence, not timer counts: a long gap with no check still ends in a ping, then a verdict', () => {
    const h = harness({ random: () => 0 });
    const socket = h.ws.last();
    socket.accept({ hb });
    h.clock.skewWallClock(10 * 60_000); // ten minutes pass before the first check runs
    h.clock.advance(1000);
    expect(h.client.state).toBe('open');
    expect(socket.framesOfType('ping')).toHaveLength(1);
    h.clock.advance(500);
    expect(h.client.state).toBe('reconnecting');
    void h.client.close();
  });
});

describe('environment', () => {
  it('makes no attempt while offline and one at once when the network returns', () => {
    const h = harness({ random: () => 0.9 });
    h.ws.last().accept();
    h.env.goOffline();
    expect(h.client.state).toBe('open'); // offline alone does not kill a working socket
    h.ws.last().drop();
    expect(h.client.state).toBe('reconnecting');
    h.clock.advance(600_000);
    expect(h.ws.sockets.length).toBe(1);
    expect(h.client.state).toBe('reconnecting');
    h.env.goOnline();
    expect(h.ws.sockets.length).toBe(2);
    expect(h.client.state).toBe('connecting');
    void h.client.close();
  });

  it('an online event cuts a backoff wait short', () => {
    const h = harness({ random: () => 1 });
    h.ws.last().accept();
    h.ws.last().drop();
    h.env.goOnline();
    expect(h.ws.sockets.length).toBe(2);
    void h.client.close();
  });

  it('does not connect at start while offline', () => {
    const h = harness({ autoConnect: false });
    h.env.onLine = false;
    void h.client.connect();
    expect(h.client.state).toBe('reconnecting');
    expect(h.ws.sockets.length).toBe(0);
    h.env.goOnline();
    expect(h.ws.sockets.length).toBe(1);
    void h.client.close();
  });

  it('checks liveness at once when a hidden tab becomes visible', () => {
    const h = harness({ random: () => 0 });
    const socket = h.ws.last();
    socket.accept({ hb: { interval: 25_000, timeout: 10_000 } });
    h.env.hide();
    h.clock.advance(5000);
    expect(socket.framesOfType('ping')).toHaveLength(0);
    h.env.show();
    expect(socket.framesOfType('ping')).toHaveLength(1);
    h.clock.advance(9999);
    expect(h.client.state).toBe('open');
    h.clock.advance(1);
    expect(h.of('close')[0]?.code).toBe(4008);
    void h.client.close();
  });

  it('a visible tab with a live link stays open after the check', () => {
    const h = harness();
    const socket = h.ws.last();
    socket.accept({ hb: { interval: 25_000, timeout: 10_000 } });
    h.env.hide();
    h.env.show();
    socket.receive({ t: 'pong', ts: h.clock.now(), rts: 0 });
    h.clock.advance(20_000);
    expect(h.client.state).toBe('open');
    void h.client.close();
  });

  it('makes an overdue reconnect at once when the tab becomes visible', () => {
    const h = harness({ random: () => 1 });
    h.ws.last().accept();
    h.ws.last().drop(); // retry due in 1000 ms
    h.env.hide();
    h.clock.skewWallClock(5000); // the throttled timer has not fired
    expect(h.ws.sockets.length).toBe(1);
    h.env.show();
    expect(h.ws.sockets.length).toBe(2);
    void h.client.close();
  });
});
