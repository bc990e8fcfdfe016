import { PROTOCOL_VERSION, SUBPROTOCOL } from '@tether/protocol';
import { type RawData, WebSocket } from 'ws';

/**
 * One soak cycle, spoken over `ws` the way any conforming client does: connect, `hello`,
 * `sub` to the topic the server keeps publishing on, receive a publication, send one
 * reliable `msg` and wait for its `ack`, then go away: a clean close (1000, the session
 * waits out its resume window) or, every `abruptEvery`th cycle, a dropped socket (1006,
 * as a crashed tab or a lost network leaves it). Bounded by `timeoutMs`.
 */

export interface CycleOptions {
  url: string;
  topic: string;
  timeoutMs: number;
  /** Drop the socket instead of closing it. */
  abrupt: boolean;
}

type Frame = { t?: unknown; seq?: unknown; [key: string]: unknown };

/** Resolves when the cycle completed; rejects with the step it failed at. */
export function runCycle(options: CycleOptions): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let step = 'connect';
    let settled = false;
    const ws = new WebSocket(options.url, [SUBPROTOCOL], { perMessageDeflate: false });
    const finish = (err?: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err !== undefined) {
        ws.terminate();
        reject(err);
        return;
      }
      if (options.abrupt) ws.terminate();
      else ws.close(1000);
      // Resolve once the socket is closed: the next cycle starts with this one gone.
      if (ws.readyState === WebSocket.CLOSED) resolve();
      else ws.once('close', () => resolve());
    };
    const timer = setTimeout(
      () => finish(new Error(`cycle timed out at ${step} after ${options.timeoutMs} ms`)),
      options.timeoutMs,
    );
    const send = (frame: Frame): void => ws.send(JSON.stringify(frame));
    const onFrame = (frame: Frame): void => {
      if (frame.t === 'ping') send({ t: 'pong', ts: frame.ts });
      else if (frame.t === 'error')
        finish(new Error(`error frame at ${step}: ${String(frame.code)}`));
      else if (step === 'hello' && frame.t === 'welcome') {
        step = 'subscribe';
        send({ t: 'sub', topic: options.topic });
      } else if (step === 'subscribe' && frame.t === 'subscribed') {
        step = 'receive';
      } else if (step === 'receive' && frame.t === 'pub') {
        step = 'ack';
        send({ t: 'msg', seq: 1, data: { soak: true } });
      } else if (
        step === 'ack' &&
        frame.t === 'ack' &&
        typeof frame.seq === 'number' &&
        frame.seq >= 1
      ) {
        finish();
      }
    };
    ws.on('open', () => {
      step = 'hello';
      send({ t: 'hello', v: PROTOCOL_VERSION });
    });
    ws.on('message', (data: RawData) => {
      const parsed = JSON.parse(data.toString()) as Frame | Frame[];
      for (const frame of Array.isArray(parsed) ? parsed : [parsed]) onFrame(frame);
    });
    ws.on('unexpected-response', (_req, res) => {
      res.resume();
      finish(new Error(`HTTP ${res.statusCode ?? 0} at ${step}`));
    });
    ws.on('error', (err: Error & { code?: string }) =>
      finish(new Error(`${err.code ?? err.message} at ${step}`)),
    );
    ws.on('close', (code) => finish(new Error(`closed ${code} at ${step}`)));
  });
}
