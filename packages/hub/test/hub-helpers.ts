import { SUBPROTOCOL } from '@tether/protocol';
import { silentLogger } from '@tether/server';
import { waitFor, withTimeout } from '@tether/testkit';
import { type JWTPayload, SignJWT } from 'jose';
import { afterEach } from 'vitest';
import { WebSocket } from 'ws';
import type { CliIo } from '../src/index.js';
import { type ServeHandle, type ServeOptions, serve } from '../src/index.js';

export const HOST = '127.0.0.1';
export const API_KEY = 'test-api-key-0123456789';
export const ADMIN_KEY = 'test-admin-key-0123456789';
export const OPS_KEY = 'test-ops-key-0123456789';
export const JWT_SECRET = 'test-jwt-secret-that-is-32-bytes!!';

/** A {@link CliIo} that keeps every printed line, for assertions. */
export interface Captured extends CliIo {
  out: string[];
  err: string[];
}

export function capture(): Captured {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, stdout: (line) => out.push(line), stderr: (line) => err.push(line) };
}

/** Hubs started by {@link startTestHub}; close them in afterEach with {@link closeHubs}. */
const running: ServeHandle[] = [];

/** A hub on a free loopback port with a memory store, silent logs, and the test keys (API, admin, ops). */
export async function startTestHub(
  options: ServeOptions = {},
): Promise<{ hub: ServeHandle; io: Captured }> {
  const io = capture();
  const hub = await serve(
    {
      port: 0,
      host: HOST,
      store: 'memory',
      logger: silentLogger,
      api: { key: API_KEY, adminKey: ADMIN_KEY, opsKey: OPS_KEY },
      ...options,
    },
    io,
  );
  running.push(hub);
  return { hub, io };
}

export async function closeHubs(): Promise<void> {
  await Promise.all(running.splice(0).map((hub) => hub.close({ drainTimeoutMs: 500 })));
}

type Frame = Record<string, unknown>;

/** A raw protocol client: says hello, records every frame and the close. */
export interface RawClient {
  ws: WebSocket;
  frames: Frame[];
  closed: Promise<{ code: number; reason: string }>;
  send(frame: Frame): void;
  /** The first frame (already received or next) matching `match`. */
  frame(match: (frame: Frame) => boolean, what: string, timeoutMs?: number): Promise<Frame>;
  close(): Promise<void>;
}

const clients: RawClient[] = [];

/** Connects to the hub's /ws (with `token` as Authorization: Bearer) and sends hello. */
export function rawClient(hub: ServeHandle, token?: string): RawClient {
  const ws = new WebSocket(`ws://${HOST}:${hub.port}/ws`, [SUBPROTOCOL], {
    ...(token === undefined ? {} : { headers: { Authorization: `Bearer ${token}` } }),
  });
  const frames: Frame[] = [];
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
  });
  ws.on('error', () => {});
  ws.on('message', (data) => {
    const parsed = JSON.parse(data.toString()) as Frame | Frame[];
    frames.push(...(Array.isArray(parsed) ? parsed : [parsed]));
  });
  ws.on('open', () => ws.send(JSON.stringify({ t: 'hello', v: 1 })));
  const client: RawClient = {
    ws,
    frames,
    closed,
    send: (frame) => ws.send(JSON.stringify(frame)),
    frame: (match, what, timeoutMs = 5000) =>
      waitFor(() => frames.find(match), { timeoutMs, message: `frame: ${what}` }),
    close: async () => {
      if (ws.readyState === WebSocket.CLOSED) return;
      ws.close(1000);
      await withTimeout(closed, 5000, 'client close');
    },
  };
  clients.push(client);
  return client;
}

export async function closeClients(): Promise<void> {
  await Promise.all(
    clients.splice(0).map((c) => {
      c.ws.terminate();
      return withTimeout(c.closed, 5000, 'client terminate');
    }),
  );
}

/** JSON request to the hub. */
export async function call(
  hub: ServeHandle,
  method: string,
  path: string,
  options: {
    key?: string | undefined;
    keyHeader?: 'bearer' | 'x-api-key';
    body?: unknown;
    raw?: string;
    headers?: Record<string, string>;
  } = {},
): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.key !== undefined) {
    if (options.keyHeader === 'x-api-key') headers['X-Api-Key'] = options.key;
    else headers.Authorization = `Bearer ${options.key}`;
  }
  let body: string | undefined;
  if (options.raw !== undefined) body = options.raw;
  else if (options.body !== undefined) body = JSON.stringify(options.body);
  if (body !== undefined && headers['Content-Type'] === undefined)
    headers['Content-Type'] = 'application/json';
  const response = await fetch(`${hub.url}${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body }),
  });
  const text = await response.text();
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    parsed = { text };
  }
  return { status: response.status, body: parsed, headers: response.headers };
}

/** Closes every raw client and hub of the file after each test (call once, at the top). */
export function cleanUpAfterEach(): void {
  afterEach(async () => {
    await closeClients();
    await closeHubs();
  });
}

/** An HS256 token signed with {@link JWT_SECRET} (or `key`), issued now, expiring in 5 minutes (or `expiresIn`). */
export function hs256(
  claims: JWTPayload,
  options: { expiresIn?: string | number; key?: Uint8Array } = {},
): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuedAt()
    .setExpirationTime(options.expiresIn ?? '5m')
    .sign(options.key ?? new TextEncoder().encode(JWT_SECRET));
}

/** The client's welcome frame. */
export const welcomed = (c: RawClient) => c.frame((f) => f.t === 'welcome', 'welcome');
