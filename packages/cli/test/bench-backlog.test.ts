import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SYSTEM_DEPS, systemDepMissing } from '@tether/testkit';
import { describe, expect, it } from 'vitest';
import { startChildHub } from '../src/bench/hub.js';
import { BENCH_LISTEN_BACKLOG } from '../src/bench/listen.js';

/**
 * bench:compare measures servers, not listen queues: every server it runs must listen
 * with the same backlog. The raw ws and Socket.IO servers once kept Node's 511 while
 * Tether's is 4096; in the idle scenario raw ws's queue overflowed (50 to 165 SYNs
 * dropped in 13 of 15 runs), the dropped connects came back a second later, and the same
 * build of ws measured anywhere from 978 to 4,464 connects/s.
 */

const SERVERS = {
  tether: fileURLToPath(new URL('../dist/bench/hub-child.js', import.meta.url)),
  ws: fileURLToPath(new URL('../../../bench/servers/ws-server.mjs', import.meta.url)),
  'ws-batched': fileURLToPath(
    new URL('../../../bench/servers/ws-batched-server.mjs', import.meta.url),
  ),
  'socket.io': fileURLToPath(
    new URL('../../../bench/servers/socketio-server.mjs', import.meta.url),
  ),
};

/** The backlog of the socket listening on 127.0.0.1:`port` (the Send-Q column of `ss -l`). */
function backlogOf(port: number): number {
  const out = execFileSync(SYSTEM_DEPS.ss.path, ['-ltnH', `sport = :${port}`], {
    encoding: 'utf8',
  });
  const columns = out.trim().split(/\s+/);
  // State Recv-Q Send-Q Local Peer: for a listening socket Send-Q is its backlog.
  return Number(columns[2]);
}

describe.skipIf(systemDepMissing('ss'))('bench:compare servers listen with one backlog', () => {
  // The kernel caps a backlog at net.core.somaxconn.
  const somaxconn = Number(readFileSync('/proc/sys/net/core/somaxconn', 'utf8'));
  const expected = Math.min(BENCH_LISTEN_BACKLOG, somaxconn);

  it.each(Object.entries(SERVERS))('%s listens with Tether’s backlog', async (_name, entry) => {
    const hub = await startChildHub({ host: '127.0.0.1', port: 0, instrument: false }, entry);
    try {
      expect(backlogOf(Number(new URL(hub.url).port))).toBe(expected);
    } finally {
      await hub.close();
    }
  });
});
