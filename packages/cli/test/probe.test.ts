import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import {
  createFaultProxy,
  type FaultProxy,
  getFreePort,
  waitFor,
  withTimeout,
} from '@tether/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { type BenchServer, startBenchServer } from '../src/bench/hub-server.js';
import { main } from '../src/index.js';
import { diagnoseClose } from '../src/probe-diagnosis.js';
import type { ProbeReport } from '../src/probe-report.js';
import { capture, runNode } from './cli-helpers.js';

const HOST = '127.0.0.1';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

/** A Tether server with the hub's endpoint path (`/ws`) on a free port. */
async function hub(): Promise<BenchServer> {
  const server = await startBenchServer({ host: HOST, port: 0 });
  cleanups.push(() => server.close({ drainTimeoutMs: 500 }));
  return server;
}

async function proxyTo(port: number): Promise<FaultProxy> {
  const proxy = await createFaultProxy({ target: { host: HOST, port } });
  cleanups.push(() => proxy.close());
  return proxy;
}

/** Runs `tether probe ...args --json` in-process; resolves with the exit status and the report. */
async function probeJson(...args: string[]): Promise<{ code: number; report: ProbeReport }> {
  const io = capture();
  const code = await withTimeout(main(['probe', ...args, '--json'], { io }), 20_000, 'probe ended');
  expect(io.out).toHaveLength(1);
  return { code, report: JSON.parse(io.out[0] as string) as ProbeReport };
}

describe('tether probe', () => {
  it('holds a healthy connection to a hub and exits 0', async () => {
    const h = await hub();
    const { code, report } = await probeJson(
      `ws://${HOST}:${h.port}/ws`,
      '--duration',
      '800ms',
      '--ping-interval',
      '100ms',
    );
    expect(report.problems).toEqual([]);
    expect(code).toBe(0);
    expect(report.healthy).toBe(true);
    expect(report.mode).toBe('tether');
    expect(report.subprotocol).toBe('tether.v1');
    expect(report.welcome?.heartbeat.intervalMs).toBe(25_000);
    expect(report.connect.welcomeMs).toBeGreaterThan(0);
    expect(report.rtt?.samples).toBeGreaterThanOrEqual(3);
    expect(report.pings.answered).toBe(report.rttSamples.length);
    expect(report.close).toBeNull();
    expect(report.heldMs).toBeGreaterThanOrEqual(800);
  });

  it('streams RTT lines and a verdict in text mode', async () => {
    const h = await hub();
    const io = capture();
    const code = await main(
      ['probe', `ws://${HOST}:${h.port}/ws`, '--duration', '400ms', '--ping-interval', '100ms'],
      { io },
    );
    expect(code).toBe(0);
    expect(io.out[0]).toMatch(/^tether probe ws:\/\/127\.0\.0\.1:\d+\/ws \(tether\.v1\)/);
    expect(io.out[1]).toMatch(/^connected in .*welcome in .*heartbeat 25s \+ 10s/);
    expect(io.out.some((l) => /rtt \d/.test(l))).toBe(true);
    expect(io.out.at(-1)).toBe('verdict: HEALTHY');
  });

  it('reports a drain as 1012 with the goodbye and exits 1', async () => {
    const h = await hub();
    const running = probeJson(`ws://${HOST}:${h.port}/ws`, '--duration', '10s');
    // The probe is connected once the hub counts it.
    await waitForConnections(h, 1);
    await h.close({ retryAfterMs: 100, retrySpreadMs: 0, drainTimeoutMs: 500 });
    const { code, report } = await running;
    expect(code).toBe(1);
    expect(report.healthy).toBe(false);
    expect(report.close).toMatchObject({ code: 1012, name: 'service_restart', by: 'server' });
    expect(report.close?.likelyCause).toMatch(/restarting or draining.*retry after 100 ms/);
  });

  it('explains a dropped connection (1006 while traffic flowed)', async () => {
    const h = await hub();
    const proxy = await proxyTo(h.port);
    const running = probeJson(
      `ws://${HOST}:${proxy.port}/ws`,
      '--duration',
      '10s',
      '--ping-interval',
      '100ms',
    );
    await waitForConnections(h, 1);
    await waitForCondition(() => proxy.traffic.toClient > 200, 'the welcome passed the proxy');
    proxy.resetAll();
    const { code, report } = await running;
    expect(code).toBe(1);
    expect(report.close).toMatchObject({ code: 1006, by: 'network', name: 'abnormal' });
    expect(report.close?.meaning).toMatch(/without a close frame/);
  });

  it('detects a half-open link by unanswered pings (4008 by the probe)', async () => {
    const h = await hub();
    const proxy = await proxyTo(h.port);
    const running = probeJson(
      `ws://${HOST}:${proxy.port}/ws`,
      '--duration',
      '20s',
      '--ping-interval',
      '100ms',
      '--ping-timeout',
      '300ms',
    );
    await waitForConnections(h, 1);
    await waitForCondition(() => proxy.traffic.toClient > 200, 'the welcome passed the proxy');
    proxy.pause();
    const { code, report } = await running;
    expect(code).toBe(1);
    expect(report.close).toMatchObject({ code: 4008, by: 'probe' });
    expect(report.close?.likelyCause).toMatch(/half-open/);
    expect(report.pings.timedOut).toBeGreaterThanOrEqual(1);
  });

  it('names the cause when nothing listens', async () => {
    const port = await getFreePort();
    const { code, report } = await probeJson(`ws://${HOST}:${port}/ws`, '--duration', '1s');
    expect(code).toBe(1);
    expect(report.failure?.summary).toMatch(/ECONNREFUSED/);
    expect(report.failure?.likelyCause).toMatch(/nothing listens/);
  });

  it('names the cause of a refused upgrade (404 on a wrong path)', async () => {
    const h = await hub();
    const { code, report } = await probeJson(`ws://${HOST}:${h.port}/nope`, '--duration', '1s');
    expect(code).toBe(1);
    expect(report.failure).toMatchObject({ status: 404 });
    expect(report.failure?.likelyCause).toMatch(/no WebSocket endpoint at this path/);
  });

  it('probes any WebSocket server with --raw, and says a non-Tether server needs it', async () => {
    const wss = new WebSocketServer({ host: HOST, port: 0 });
    cleanups.push(() => new Promise<void>((resolve) => wss.close(() => resolve())));
    wss.on('connection', (ws) => ws.send('hello'));
    await new Promise((resolve) => wss.once('listening', resolve));
    const url = `ws://${HOST}:${(wss.address() as AddressInfo).port}/`;

    const raw = await probeJson(url, '--raw', '--duration', '500ms', '--ping-interval', '100ms');
    expect(raw.code).toBe(0);
    expect(raw.report.mode).toBe('raw');
    expect(raw.report.messages.in).toBe(1);
    expect(raw.report.rtt?.samples).toBeGreaterThanOrEqual(3);

    const tether = await probeJson(url, '--duration', '500ms');
    for (const ws of wss.clients) ws.terminate();
    expect(tether.code).toBe(1);
    expect(tether.report.failure?.likelyCause).toMatch(/not a Tether server, use --raw/);
  });

  it('exits 2 on usage errors, naming the flag', async () => {
    for (const [args, message] of [
      [[], /a URL is required/],
      [['ws://x/', '--duration', 'soon'], /--duration/],
      [['ws://x/', '--bogus'], /unknown option --bogus/],
      [['ftp://x/'], /expected a ws:\/\//],
      [['ws://x/', '--subprotocol', 'a'], /--subprotocol: only with --raw/],
    ] as const) {
      const io = capture();
      expect(await main(['probe', ...args], { io })).toBe(2);
      expect(io.err.join('\n')).toMatch(message);
    }
  });

  it('the built bin probes a running hub: exit 0 and JSON', async (context) => {
    const bin = fileURLToPath(new URL('../bin/tether.js', import.meta.url));
    const built = fileURLToPath(new URL('../dist/probe.js', import.meta.url));
    if (!existsSync(built)) {
      context.skip('packages/cli/dist is not built (npm run build)');
      return;
    }
    const h = await hub();
    const { code, stdout } = await runNode(
      [bin, 'probe', `ws://${HOST}:${h.port}/ws`, '--duration', '3s', '--json'],
      { timeoutMs: 20_000, what: 'the probe process exited', stderr: 'ignore' },
    );
    const report = JSON.parse(stdout) as ProbeReport;
    expect(report.healthy).toBe(true);
    expect(code).toBe(0);
    expect(report.heldMs).toBeGreaterThanOrEqual(3000);
  });
});

describe('probe diagnosis', () => {
  const base = {
    reason: '',
    unansweredPings: 0,
    goodbye: undefined,
    hadToken: false,
    raw: false,
  } as const;

  it('attributes a 1006 after a 60 s silence to a proxy idle timeout', () => {
    const d = diagnoseClose({
      ...base,
      code: 1006,
      afterMs: 61_000,
      silenceMs: 60_200,
      by: 'network',
    });
    expect(d.name).toBe('abnormal');
    expect(d.likelyCause).toMatch(
      /idle timeout in a proxy.*60\.2 s.*60 s is a common limit.*lower the heartbeat interval/,
    );
  });

  it('blames the path when pings went unanswered, and credentials on 4001', () => {
    expect(
      diagnoseClose({
        ...base,
        code: 1006,
        afterMs: 5_000,
        silenceMs: 3_000,
        unansweredPings: 2,
        by: 'network',
      }).likelyCause,
    ).toMatch(/2 ping\(s\) unanswered/);
    expect(
      diagnoseClose({ ...base, code: 4001, afterMs: 5, silenceMs: 0, by: 'server' }).likelyCause,
    ).toMatch(/pass --token/);
  });
});

async function waitForConnections(h: BenchServer, count: number): Promise<void> {
  await waitForCondition(() => h.tether.stats().connections >= count, `${count} connection(s)`);
}

async function waitForCondition(check: () => boolean, what: string): Promise<void> {
  await waitFor(check, { message: `waiting for ${what}` });
}
