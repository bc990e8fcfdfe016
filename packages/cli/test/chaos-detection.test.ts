import { createFaultProxy, type FaultProxy } from '@tether/fault-proxy';
import { waitFor } from '@tether/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { type BenchServer, startBenchServer } from '../src/bench/hub-server.js';
import { AuditedClient } from '../src/chaos/audited-client.js';
import { StallWatch } from '../src/chaos/detections.js';
import type { StallRecord } from '../src/chaos/faults.js';
import { sleep } from '../src/wait-until.js';

const HEARTBEAT = { intervalMs: 300, timeoutMs: 300 };
/** Past interval + timeout + the audit's slack: a stall this long must be detected when it can be. */
const STALL_MS = 2_600;

/** Stalls `proxy` the way the fault driver does, tells `watch`, and ends the stall after `ms`. */
async function stall(
  proxy: FaultProxy,
  watch: StallWatch,
  ms: number,
  before: () => void = () => {},
): Promise<StallRecord> {
  proxy.pause();
  before();
  const record: StallRecord = { proxy: 0, startedAt: Date.now(), endedAt: undefined };
  watch.onStall(record);
  await sleep(ms);
  proxy.resume();
  record.endedAt = Date.now();
  return record;
}

describe('chaos audit: half-open detection', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('counts a stall of a handshake in flight apart from a stall of an open link', async () => {
    const server: BenchServer = await startBenchServer({
      host: '127.0.0.1',
      port: 0,
      heartbeatIntervalMs: HEARTBEAT.intervalMs,
      heartbeatTimeoutMs: HEARTBEAT.timeoutMs,
    });
    const proxy = await createFaultProxy({ target: { host: '127.0.0.1', port: server.port } });
    // Torn down as the audit does: the client, the server, then the proxy.
    cleanups.push(() => proxy.close());
    cleanups.push(() => server.close({ drainTimeoutMs: 500, retryAfterMs: 0, retrySpreadMs: 0 }));
    const client = new AuditedClient('detect-1', `ws://127.0.0.1:${proxy.port}/ws`, {
      breakerThreshold: 0,
      maxReconnectDelayMs: 2_000,
    });
    cleanups.push(() => client.close());
    const watch = new StallWatch([client], HEARTBEAT);
    watch.watchServer(server.endpoint);
    await waitFor(() => client.open, { message: 'client open' });

    // Reset the link and stall the reconnect as soon as the proxy accepts it: the latency
    // keeps its upgrade request inside the proxy until the stall holds it.
    proxy.setLatency(100);
    const accepted = proxy.totalConnections;
    proxy.resetAll();
    await waitFor(() => proxy.totalConnections > accepted, {
      intervalMs: 1,
      message: 'reconnect accepted',
    });
    let openAtStall = true;
    const handshake = await stall(proxy, watch, STALL_MS, () => {
      openAtStall = client.open;
      proxy.setLatency(0);
    });
    expect(openAtStall).toBe(false);
    // Neither side runs heartbeats on a link still in its handshake: nothing to detect.
    // The handshake completes once the stall ends (the connect timeout is far longer).
    await waitFor(() => client.open, { message: 'client open after the handshake stall' });

    // The same client, now open, stalled as long: both sides must detect it.
    const open = await stall(proxy, watch, STALL_MS);
    await waitFor(() => client.open, { message: 'client open after the second stall' });

    const [first, second] = watch.detections([handshake, open]);
    expect(first).toMatchObject({
      established: false,
      mustDetect: false,
      clientMs: undefined,
      serverMs: undefined,
    });
    expect(second).toMatchObject({ established: true, mustDetect: true });
    expect(second?.clientMs).toBeDefined();
    expect(second?.serverMs).toBeDefined();
    // A detection belongs to the stall it happened in: the second stall's closes are not
    // credited to the first.
    expect(second?.clientMs).toBeLessThan(STALL_MS);
    expect(second?.serverMs).toBeLessThan(STALL_MS);
  });
});
