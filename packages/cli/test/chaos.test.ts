import { EventEmitter } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { waitFor, withTimeout } from '@tether/testkit';
import { describe, expect, it } from 'vitest';
import { parseChaosArgs, parseRate } from '../src/chaos/args.js';
import { seededRandom } from '../src/chaos/faults.js';
import { SequenceAudit } from '../src/chaos/sequence-audit.js';
import type { ChaosVerdict } from '../src/chaos/verdict.js';
import { main } from '../src/index.js';
import { capture } from './cli-helpers.js';

describe('tether chaos audit', () => {
  it('delivers everything through resets, stalls and cuts, and measures half-open detection', async () => {
    const io = capture();
    const code = await withTimeout(
      main(
        [
          'chaos',
          '--clients',
          '6',
          '--duration',
          '5s',
          '--rate',
          '40',
          '--send-rate',
          '10',
          '--heartbeat-interval',
          '300ms',
          '--heartbeat-timeout',
          '300ms',
          '--latency',
          '5ms',
          '--jitter',
          '5ms',
          '--reset-every',
          '600ms',
          '--stall-every',
          '1s',
          '--stall-for',
          '2500ms',
          '--cut-every',
          '2s',
          '--seed',
          '7',
          '--json',
        ],
        { io },
      ),
      50_000,
      'chaos audit finished',
    );
    const verdict = JSON.parse(io.out.join('\n')) as ChaosVerdict;
    expect(verdict.problems).toEqual([]);
    expect(code).toBe(0);
    const o = verdict.observations;
    expect(o.published).toBeGreaterThanOrEqual(150);
    expect(o.publications).toMatchObject({ lost: 0, duplicated: 0, reordered: 0 });
    expect(o.publications.delivered).toBe(o.published * 6);
    expect(o.sends).toMatchObject({ lost: 0, duplicated: 0, reordered: 0 });
    expect(o.sends.delivered).toBe(o.sendsIssued);
    // The faults really happened: links were reset, cut and stalled, clients reconnected.
    expect(o.faults.resets + o.faults.cuts).toBeGreaterThan(3);
    expect(o.reconnects).toBeGreaterThan(3);
    // Every stall that lasted past heartbeat interval + timeout + slack was detected by
    // both sides (the verdict checks it); at least one ran its full length.
    expect(verdict.halfOpen.undetected).toBe(0);
    const full = o.detections.filter((d) => d.mustDetect);
    expect(full.length).toBeGreaterThanOrEqual(1);
    for (const d of full) {
      // Detection within interval + timeout (600 ms), plus the sweep's tick and scheduling.
      expect(d.clientMs).toBeLessThan(2_000);
      expect(d.serverMs).toBeLessThan(2_000);
    }
  });

  it('says NOT CLEAN and exits 1 when sessions cannot be resumed', async () => {
    // A resume window shorter than any reconnect: every cut loses the session. The
    // clients are told (resumed: false), and the verdict must not call that clean.
    const io = capture();
    const code = await withTimeout(
      main(
        [
          'chaos',
          '--clients',
          '2',
          '--duration',
          '1500ms',
          '--rate',
          '20',
          '--send-rate',
          '5',
          '--resume-window',
          '0',
          '--reset-every',
          'off',
          '--stall-every',
          'off',
          '--cut-every',
          '500ms',
          '--settle',
          '5s',
        ],
        { io },
      ),
      30_000,
      'chaos audit finished',
    );
    const text = io.out.join('\n');
    expect(text).toMatch(/^stream\s+expected\s+delivered\s+lost\s+duplicated\s+reordered$/m);
    expect(text).toMatch(/verdict: NOT CLEAN \(.*sessions not resumed/);
    expect(code).toBe(1);
  });

  it('runs a fault proxy in front of any TCP server until stopped', async () => {
    const echo: Server = createServer((socket: Socket) => socket.pipe(socket));
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
    const port = (echo.address() as { port: number }).port;
    const signals = new EventEmitter();
    const io = capture();
    const running = main(['chaos', 'proxy', '--target', `127.0.0.1:${port}`, '--latency', '20ms'], {
      io,
      signals,
    });
    const listening = await waitFor(() => io.out[0], { message: 'proxy listening' });
    const proxyPort = Number(/127\.0\.0\.1:(\d+) ->/.exec(listening)?.[1]);
    const { connect } = await import('node:net');
    const client = connect(proxyPort, '127.0.0.1');
    const started = performance.now();
    client.write('ping');
    const reply = await withTimeout(
      new Promise<string>((resolve) => client.once('data', (d) => resolve(d.toString()))),
      5_000,
      'echo through the proxy',
    );
    expect(reply).toBe('ping');
    // Latency applies each way.
    expect(performance.now() - started).toBeGreaterThanOrEqual(35);
    client.destroy();
    signals.emit('SIGINT');
    expect(await withTimeout(running, 5_000, 'proxy stopped')).toBe(0);
    expect(io.out.at(-1)).toMatch(/^done: 1 connections proxied/);
    await new Promise<void>((resolve) => echo.close(() => resolve()));
  });

  it('parses fault flags and rejects bad ones (exit 2)', async () => {
    expect(parseRate('64k')).toBe(65_536);
    expect(parseRate('1.5m')).toBe(1_572_864);
    const args = parseChaosArgs(['--reset-every', 'off', '--bandwidth', '1000']);
    expect(args.faults).toMatchObject({ resetEveryMs: undefined, bandwidth: 1000 });
    for (const [argv, message] of [
      [['--bandwidth', 'fast'], /--bandwidth: expected bytes per second/],
      [['--cut-every', 'soon'], /--cut-every: expected a duration/],
      [['proxy'], /--target: required/],
      [['proxy', '--target', 'nowhere'], /--target: expected host:port/],
      [['sideways'], /unexpected argument "sideways"/],
    ] as const) {
      const io = capture();
      expect(await main(['chaos', ...argv], { io })).toBe(2);
      expect(io.err.join('\n')).toMatch(message);
    }
  });

  it('audits sequences: loss, duplicates and reorders', () => {
    const audit = new SequenceAudit();
    for (const n of [1, 2, 4, 3, 4, 6]) audit.record(n);
    expect(audit.verdict(6)).toEqual({
      expected: 6,
      delivered: 5,
      lost: 1,
      duplicated: 1,
      reordered: 1,
      unexpected: 0,
    });
    const a = seededRandom(42);
    const b = seededRandom(42);
    expect([a(), a(), a()]).toEqual([b(), b(), b()]);
  });
});
