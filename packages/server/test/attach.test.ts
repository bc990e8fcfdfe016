import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { OptionError } from '@tether/common';
import { SUBPROTOCOL } from '@tether/protocol';
import express from 'express';
import Fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { silentLogger, TetherServer } from '../src/index.js';
import { HOST, RawClient, rawUpgrade } from './helpers.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

function listen(server: Server): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, HOST, () => resolve((server.address() as AddressInfo).port)),
  );
}

function closeHttp(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

/** Connects, says hello, asks `whoami`, and returns the answer. */
async function whoami(url: string): Promise<unknown> {
  const c = await RawClient.connect(url);
  try {
    return (await c.request('whoami', null, 1)).data;
  } finally {
    c.close();
  }
}

function tetherOn(server: Server): TetherServer {
  const tether = new TetherServer({ server, logger: silentLogger });
  cleanups.push(() => tether.close({ drainTimeoutMs: 500 }));
  return tether;
}

describe('attaching', () => {
  it('attaches to a plain node:http server, leaving its HTTP routes alone', async () => {
    const http = createServer((_req, res) => res.end('plain http'));
    cleanups.push(() => closeHttp(http));
    const tether = tetherOn(http);
    tether.endpoint('/ws').handle('whoami', () => 'plain');
    const port = await listen(http);
    expect(await whoami(`ws://${HOST}:${port}/ws`)).toBe('plain');
    expect(await (await fetch(`http://${HOST}:${port}/other`)).text()).toBe('plain http');
  });

  it('attaches to an Express server', async () => {
    const app = express();
    app.get('/health', (_req, res) => {
      res.json({ ok: true });
    });
    const http = await new Promise<Server>((resolve) => {
      const s = app.listen(0, HOST, () => resolve(s));
    });
    cleanups.push(() => closeHttp(http));
    const tether = tetherOn(http);
    tether.endpoint('/live').handle('whoami', () => 'express');
    const port = (http.address() as AddressInfo).port;
    expect(await whoami(`ws://${HOST}:${port}/live`)).toBe('express');
    expect(await (await fetch(`http://${HOST}:${port}/health`)).json()).toEqual({ ok: true });
  });

  it('attaches to a Fastify server (fastify.server)', async () => {
    const fastify = Fastify({ logger: false });
    fastify.get('/health', async () => ({ ok: true }));
    await fastify.listen({ port: 0, host: HOST });
    cleanups.push(() => fastify.close());
    const tether = tetherOn(fastify.server);
    tether.endpoint('/ws').handle('whoami', () => 'fastify');
    const port = (fastify.server.address() as AddressInfo).port;
    expect(await whoami(`ws://${HOST}:${port}/ws`)).toBe('fastify');
    expect(await (await fetch(`http://${HOST}:${port}/health`)).json()).toEqual({ ok: true });
  });

  it('runs standalone: endpoint paths answer plain HTTP with 426, other paths 404', async () => {
    const tether = new TetherServer({ port: 0, host: HOST, logger: silentLogger });
    cleanups.push(() => tether.close());
    tether.endpoint('/ws').handle('whoami', () => 'standalone');
    const { port } = await tether.listen();
    expect(await whoami(`ws://${HOST}:${port}/ws`)).toBe('standalone');
    const plain = await fetch(`http://${HOST}:${port}/ws`);
    expect(plain.status).toBe(426);
    expect(await plain.text()).toContain(SUBPROTOCOL);
    const other = await fetch(`http://${HOST}:${port}/nothing`);
    expect(other.status).toBe(404);
    await other.arrayBuffer();
  });
});

describe('routing by path', () => {
  it('serves two endpoints on one port without conflict', async () => {
    const http = createServer();
    cleanups.push(() => closeHttp(http));
    const tether = tetherOn(http);
    tether.endpoint('/a').handle('whoami', () => 'a');
    tether.endpoint('/b').handle('whoami', () => 'b');
    const port = await listen(http);
    const answers = await Promise.all(
      ['/a', '/b', '/a', '/b', '/a?x=1'].map((path) => whoami(`ws://${HOST}:${port}${path}`)),
    );
    expect(answers).toEqual(['a', 'b', 'a', 'b', 'a']);
  });

  it('lets two TetherServer instances share one http.Server (one shared upgrade router)', async () => {
    const http = createServer();
    cleanups.push(() => closeHttp(http));
    tetherOn(http)
      .endpoint('/one')
      .handle('whoami', () => 'one');
    tetherOn(http)
      .endpoint('/two')
      .handle('whoami', () => 'two');
    const port = await listen(http);
    expect(http.listenerCount('upgrade')).toBe(1);
    expect(await whoami(`ws://${HOST}:${port}/one`)).toBe('one');
    expect(await whoami(`ws://${HOST}:${port}/two`)).toBe('two');
    expect(() => tetherOn(http).endpoint('/one')).toThrow(OptionError);
  });

  it('answers an unknown path with HTTP 404 (raw socket and ws unexpected-response)', async () => {
    const http = createServer();
    cleanups.push(() => closeHttp(http));
    tetherOn(http).endpoint('/ws');
    const port = await listen(http);
    const answer = await rawUpgrade(port, '/nope?token=secret');
    expect(answer.status).toBe(404);
    expect(answer.body).toContain('/nope');
    expect(answer.body).not.toContain('secret');
    const status = await new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(`ws://${HOST}:${port}/elsewhere`, [SUBPROTOCOL]);
      ws.on('unexpected-response', (_req, res) => {
        resolve(res.statusCode ?? 0);
        ws.terminate();
      });
      ws.on('open', () => reject(new Error('should not open')));
      ws.on('error', () => {});
    });
    expect(status).toBe(404);
  });

  it("leaves unknown paths to the application's own upgrade listener", async () => {
    const http = createServer();
    cleanups.push(() => closeHttp(http));
    tetherOn(http)
      .endpoint('/tether')
      .handle('whoami', () => 'tether');
    const foreign = new WebSocketServer({ noServer: true });
    cleanups.push(() => new Promise((resolve) => foreign.close(resolve)));
    http.on('upgrade', (req, socket, head) => {
      if (req.url === '/legacy')
        foreign.handleUpgrade(req, socket, head, (ws) => ws.send('legacy says hi'));
    });
    const port = await listen(http);
    const legacy = new WebSocket(`ws://${HOST}:${port}/legacy`);
    const first = await new Promise<string>((resolve, reject) => {
      legacy.on('message', (data) => resolve(data.toString()));
      legacy.on('error', reject);
    });
    legacy.terminate();
    expect(first).toBe('legacy says hi');
    expect(await whoami(`ws://${HOST}:${port}/tether`)).toBe('tether');
  });

  it('rejects bad paths and duplicate paths at endpoint() with an OptionError', () => {
    const tether = new TetherServer({ port: 0, logger: silentLogger });
    tether.endpoint('/x');
    expect(() => tether.endpoint('/x')).toThrow(/already has an endpoint/);
    expect(() => tether.endpoint('x')).toThrow(OptionError);
    expect(() => tether.endpoint('/x?y')).toThrow(OptionError);
  });

  it('frees its routes on close so a new server can take the path', async () => {
    const http = createServer();
    cleanups.push(() => closeHttp(http));
    const first = new TetherServer({ server: http, logger: silentLogger });
    first.endpoint('/ws');
    await first.close();
    expect(http.listenerCount('upgrade')).toBe(0);
    tetherOn(http)
      .endpoint('/ws')
      .handle('whoami', () => 'second');
    const port = await listen(http);
    expect(await whoami(`ws://${HOST}:${port}/ws`)).toBe('second');
  });
});
