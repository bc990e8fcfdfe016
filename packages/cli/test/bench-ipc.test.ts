import { type ChildProcess, fork } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { once, type TempDir, tempDir, waitFor, withTimeout } from '@tether/testkit';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startChildHub } from '../src/bench/hub.js';
import { IpcError, IpcPeer } from '../src/bench/ipc.js';
import { WorkerPool } from '../src/bench/worker-pool.js';

/** The built worker entry (workers run compiled code; the sources have no worker.js). */
const WORKER_ENTRY = fileURLToPath(new URL('../dist/bench/worker.js', import.meta.url));
/** The built hub child entry (startChildHub's default). */
const HUB_CHILD = fileURLToPath(new URL('../dist/bench/hub-child.js', import.meta.url));

/**
 * The bench's IPC to its hub child and client workers must turn every way a child can go
 * away (it exits, it closes the channel, a write hits a closed pipe) into a rejected call
 * with a reason: `tether bench storm` once crashed with an unhandled `write EPIPE` from a
 * usage sample sent after the hub child was gone.
 */

/** A child that answers `echo`, ignores `hang`, and on `leave` closes its channel but lives on. */
const CHILD = `
process.on('message', (m) => {
  if (m.cmd === 'echo') process.send({ id: m.id, ok: true, result: m.args });
  // Outside the message handler: Node fails on messages still queued behind a disconnect.
  else if (m.cmd === 'leave') setImmediate(() => process.disconnect());
});
const keep = setInterval(() => {}, 1000);
process.on('disconnect', () => setTimeout(() => { clearInterval(keep); }, 500));
`;

let dir: TempDir;
let script: string;
beforeAll(async () => {
  dir = await tempDir('tether-ipc-');
  script = join(dir.path, 'child.mjs');
  writeFileSync(script, CHILD);
  return () => dir.cleanup();
});

const children: ChildProcess[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    }
  }
});

function startChild(): ChildProcess {
  const child = fork(script, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  children.push(child);
  return child;
}

/** The reason a call rejected with, or 'resolved'. */
function outcome(call: Promise<unknown>): Promise<string> {
  return call.then(
    () => 'resolved',
    (err: unknown) => (err instanceof IpcError ? `IpcError: ${err.message}` : String(err)),
  );
}

describe('IpcPeer', () => {
  it('answers calls while the child is there', async () => {
    const peer = new IpcPeer(startChild(), 'test child');
    expect(await peer.call('echo', { a: 1 })).toEqual({ a: 1 });
  });

  it('rejects a call made after the child closed its channel (no unhandled error event)', async () => {
    const child = startChild();
    const peer = new IpcPeer(child, 'test child');
    const left = once(child, 'disconnect');
    peer.call('leave').catch(() => {});
    await withTimeout(left, 5_000, 'child disconnected');
    expect(await withTimeout(outcome(peer.call('echo', {})), 5_000, 'call settled')).toMatch(
      /^IpcError: test child: .*(closed|disconnected|exited)/,
    );
  });

  it('rejects calls in flight when the channel closes without an answer', async () => {
    const child = startChild();
    const peer = new IpcPeer(child, 'test child');
    const hanging = outcome(peer.call('hang', {}, 60_000));
    peer.call('leave').catch(() => {});
    expect(await withTimeout(hanging, 5_000, 'hanging call settled')).toMatch(
      /^IpcError: test child: .*(closed|disconnected|exited)/,
    );
  });

  it('rejects every call around a SIGKILL of the child, none crashes the caller', async () => {
    const child = startChild();
    const peer = new IpcPeer(child, 'test child');
    const exited = once(child, 'exit');
    let gone = false;
    void exited.then(() => {
      gone = true;
    });
    const calls: Array<Promise<string>> = [];
    child.kill('SIGKILL');
    // Keep calling, as the storm's usage sampler did, until the exit is seen (bounded).
    for (let i = 0; i < 10_000 && !gone; i += 1) {
      calls.push(outcome(peer.call('echo', { i }, 5_000)));
      await new Promise((resolve) => setImmediate(resolve));
    }
    await withTimeout(exited, 5_000, 'child exited');
    calls.push(outcome(peer.call('echo', {})));
    const results = await withTimeout(Promise.all(calls), 10_000, 'calls settled');
    for (const r of results) expect(r).toMatch(/^(resolved|IpcError: test child: )/);
    expect(results.at(-1)).toMatch(/^IpcError: test child: .*(closed|disconnected|exited)/);
  });

  it('turns a send that fails (EPIPE in the callback, or a throw) into a rejected call', async () => {
    // A real pipe breaks only in a race; this child stands in for the two ways send fails.
    class BrokenChild extends EventEmitter {
      connected = true;
      mode: 'callback' | 'throw' = 'callback';
      send(_message: unknown, callback?: (err: Error | null) => void): boolean {
        if (this.mode === 'throw') throw new Error('cannot serialize');
        const err = Object.assign(new Error('write EPIPE'), { code: 'EPIPE' });
        if (callback === undefined) process.nextTick(() => this.emit('error', err));
        else process.nextTick(callback, err);
        return false;
      }
    }
    const child = new BrokenChild();
    const peer = new IpcPeer(child as unknown as ChildProcess, 'test child');
    expect(await outcome(peer.call('echo', {}, 5_000))).toMatch(/^IpcError: test child: .*EPIPE/);
    child.mode = 'throw';
    expect(await outcome(peer.call('echo', {}, 5_000))).toMatch(
      /^IpcError: test child: .*cannot serialize/,
    );
  });
});

describe('WorkerPool', () => {
  it('reports a worker that died as a failed call, and still stops', async (context) => {
    if (!existsSync(WORKER_ENTRY)) {
      context.skip('packages/cli/dist is not built (npm run build)');
      return;
    }
    const pool = await withTimeout(WorkerPool.start(2, WORKER_ENTRY), 20_000, 'workers started');
    let stopped = false;
    try {
      expect(await pool.openCount()).toBe(0);
      const [first] = pool.pids;
      process.kill(first as number, 'SIGKILL');
      const reason = await waitFor(
        async () => {
          const r = await outcome(pool.openCount());
          return r === 'resolved' ? undefined : r;
        },
        { timeoutMs: 5_000, message: 'no call failed after the worker died' },
      );
      // The call fails one of three ways, depending on where the death lands: the channel
      // closed, the process exited, or the write itself failed (EPIPE) first.
      expect(reason).toMatch(
        /^IpcError: bench worker 1(: IPC channel closed| exited|: openCount not sent \((EPIPE|ECONNRESET|ERR_IPC_CHANNEL_CLOSED)\))/,
      );
      await withTimeout(pool.stop(), 10_000, 'pool stopped');
      stopped = true;
    } finally {
      if (!stopped) await pool.stop();
    }
  });

  it('a child hub measures its event loop unless told not to (bench:compare)', async (context) => {
    if (!existsSync(HUB_CHILD)) {
      context.skip('packages/cli/dist is not built (npm run build)');
      return;
    }
    const measured = await startChildHub({ host: '127.0.0.1', port: 0 }, HUB_CHILD);
    try {
      expect(await measured.loopDelay()).toEqual(
        expect.objectContaining({ p50Ms: expect.any(Number), maxMs: expect.any(Number) }),
      );
      expect(await measured.trace(0, 100)).toBeDefined();
    } finally {
      await measured.close();
    }
    const plain = await startChildHub({ host: '127.0.0.1', port: 0, instrument: false }, HUB_CHILD);
    try {
      expect(await plain.loopDelay()).toBeUndefined();
      expect(await plain.trace(0, 100)).toBeUndefined();
      expect((await plain.usage())?.connections).toBe(0);
    } finally {
      await plain.close();
    }
  });
});
