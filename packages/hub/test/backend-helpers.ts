import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One call the hub made to the test backend. */
export interface BackendCall {
  event: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: Record<string, unknown>;
  /** Whether the signature verified (undefined when no secret was given). */
  signed: boolean | undefined;
  /** The status the backend answered. */
  status: number;
}

/** What a route answers: a status and a JSON body. */
export type Answer = { status: number; body?: unknown };

/** A small backend in the test process, the way an application would write one. */
export interface TestBackend {
  readonly url: string;
  readonly calls: BackendCall[];
  /** Decides the answer of each call; default 200 `{}` (request: echoes `data`). */
  route: (call: Omit<BackendCall, 'status'>) => Answer;
  close(): Promise<void>;
}

/** Verifies `X-Tether-Signature` as docs/backend.md tells a backend to. */
export function verifySignature(
  secret: string,
  headers: IncomingMessage['headers'],
  body: string,
): boolean {
  const timestamp = String(headers['x-tether-timestamp'] ?? '');
  const given = String(headers['x-tether-signature'] ?? '');
  if (Math.abs(Date.now() / 1000 - Number(timestamp)) > 300) return false;
  const expected = `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
  return (
    given.length === expected.length && timingSafeEqual(Buffer.from(given), Buffer.from(expected))
  );
}

export async function startBackend(secret?: string, port = 0): Promise<TestBackend> {
  const calls: BackendCall[] = [];
  const backend: TestBackend = {
    url: '',
    calls,
    route: (call) =>
      call.event === 'request'
        ? { status: 200, body: { echo: call.body.data ?? null } }
        : { status: 200, body: {} },
    close: async () => {},
  };
  const server: Server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const path = request.url ?? '/';
      const event = path.split('/').pop() ?? '';
      const call = {
        event,
        path,
        headers: request.headers,
        body: JSON.parse(text === '' ? '{}' : text) as Record<string, unknown>,
        signed: secret === undefined ? undefined : verifySignature(secret, request.headers, text),
      };
      let answer: Answer;
      try {
        answer = backend.route(call);
      } catch (err) {
        answer = { status: 500, body: { error: String(err) } };
      }
      calls.push({ ...call, status: answer.status });
      const out = answer.body === undefined ? '' : JSON.stringify(answer.body);
      response.writeHead(answer.status, { 'Content-Type': 'application/json' });
      response.end(out);
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const bound = (server.address() as AddressInfo).port;
  Object.assign(backend, {
    url: `http://127.0.0.1:${bound}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  });
  return backend;
}

/** The message calls' `data.n`, in the order the backend accepted them (2xx). */
export function acceptedNumbers(calls: readonly BackendCall[]): number[] {
  return calls
    .filter((c) => c.event === 'message' && c.status >= 200 && c.status < 300)
    .map((c) => (c.body.data as { n: number }).n);
}
