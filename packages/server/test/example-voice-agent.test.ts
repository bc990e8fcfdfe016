/**
 * examples/voice-agent in real Chromium: the page sets up a call with the agent (offer
 * and answer as a reliable request), both sides trickle numbered ICE candidates, and the
 * network resets every connection mid-call (a fault proxy between the page and the
 * agent). The session must resume, the agent must be told so, and every candidate must
 * arrive once and in order in both directions.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  type ChromiumHandle,
  createFaultProxy,
  type FaultProxy,
  launchChromium,
  systemDepMissing,
  waitFor,
} from '@tether/testkit';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CANDIDATES = 60;

interface AgentCall {
  callId: string;
  state: string;
  clientIce: number[];
  agentIce: number;
  confirmations: Array<{ resumed: boolean; reason: string | null }>;
}
interface Seen {
  sessions: Array<{ sessionId: string; resumed: boolean; reason: string | null }>;
  agentIce: number[];
  confirmations: Array<{ callId: string; resumed: boolean; state: string }>;
  calls: string[];
}
declare global {
  interface Window {
    voice: {
      ready?: boolean;
      seen: Seen;
      call(options: { candidates: number; everyMs: number }): Promise<string>;
      hangup(callId: string): Promise<AgentCall>;
    };
    callDone?: string;
  }
}

const numbers = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

describe.skipIf(systemDepMissing('chromium'))('examples/voice-agent', () => {
  let agent: ChildProcess | undefined;
  let proxy: FaultProxy | undefined;
  let chromium: ChromiumHandle | undefined;
  afterAll(async () => {
    await chromium?.close();
    await proxy?.close();
    if (agent !== undefined && agent.exitCode === null) {
      const exited = new Promise((resolve) => agent?.once('exit', resolve));
      agent.kill('SIGTERM');
      await exited;
    }
  });

  it('resumes the call session after a network reset, losing and doubling no signalling message', async () => {
    const args = ['examples/voice-agent/server.mjs', '--port', '0'];
    args.push('--candidates', String(CANDIDATES), '--candidate-ms', '25');
    agent = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    agent.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
    });
    agent.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
    });
    const port = await waitFor(() => output.match(/on http:\/\/127\.0\.0\.1:(\d+)\//)?.[1], {
      timeoutMs: 15_000,
      message: 'the agent listens',
    });
    const base = `http://127.0.0.1:${port}`;
    const agentCalls = async () => (await (await fetch(`${base}/calls`)).json()) as AgentCall[];
    proxy = await createFaultProxy({ target: { host: '127.0.0.1', port: Number(port) } });
    chromium = await launchChromium();
    const page = await chromium.newPage();
    await page.goto(`${base}/?ws=ws://127.0.0.1:${proxy.port}/signal`);
    await page.waitForFunction(() => window.voice?.ready === true, undefined, { timeout: 15_000 });

    await page.evaluate((candidates) => {
      void window.voice.call({ candidates, everyMs: 25 }).then((id) => {
        window.callDone = id;
      });
    }, CANDIDATES);
    // Mid-call in both directions: then the network resets every connection.
    await waitFor(
      async () => {
        const [call] = await agentCalls();
        const fromAgent = await page.evaluate(() => window.voice.seen.agentIce.length);
        return (
          call !== undefined &&
          call.clientIce.length >= 10 &&
          fromAgent >= 10 &&
          fromAgent < CANDIDATES
        );
      },
      { timeoutMs: 15_000, message: 'candidates flowing both ways' },
    );
    proxy.resetAll();

    const callId = await page
      .waitForFunction(() => window.callDone, undefined, { timeout: 30_000 })
      .then(async (handle) => String(await handle.jsonValue()));
    await page.waitForFunction((n) => window.voice.seen.agentIce.length >= n, CANDIDATES, {
      timeout: 30_000,
    });
    const seen = await page.evaluate(() => window.voice.seen);
    const [call] = await agentCalls();

    // The page: a new session, then the same one resumed; every agent candidate once, in order.
    expect(seen.sessions.map((s) => s.resumed)).toEqual([false, true]);
    expect(seen.sessions[1]?.sessionId).toBe(seen.sessions[0]?.sessionId);
    expect(seen.agentIce).toEqual(numbers(CANDIDATES));
    expect(seen.confirmations).toEqual([
      { type: 'session', callId, resumed: true, state: 'active' },
    ]);
    // The agent: one call, every browser candidate once and in order, told of the resume.
    expect(call).toMatchObject({ callId, state: 'active', agentIce: CANDIDATES });
    expect(call?.clientIce).toEqual(numbers(CANDIDATES));
    expect(call?.confirmations).toEqual([{ resumed: true, reason: null }]);

    const ended = await page.evaluate((id) => window.voice.hangup(id), callId);
    expect(ended).toMatchObject({ callId, state: 'ended' });
  }, 90_000);
});
