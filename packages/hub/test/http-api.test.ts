import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import {
  ADMIN_KEY,
  API_KEY,
  call,
  cleanUpAfterEach,
  HOST,
  rawClient,
  startTestHub,
} from './hub-helpers.js';

cleanUpAfterEach();

const key = API_KEY;

describe('HTTP API: keys', () => {
  it('refuses every call without the key, with a wrong key, and when no key is configured', async () => {
    const { hub } = await startTestHub();
    const body = { topic: 'demo:x', data: 1 };
    const missing = await call(hub, 'POST', '/api/publish', { body });
    expect(missing.status).toBe(401);
    expect(missing.body).toEqual({
      error: {
        code: 'UNAUTHORIZED',
        message: 'missing API key: send Authorization: Bearer KEY or X-Api-Key: KEY',
      },
    });
    expect(missing.headers.get('www-authenticate')).toBe('Bearer');
    const wrong = await call(hub, 'POST', '/api/publish', { body, key: `${key}x` });
    expect(wrong.body).toEqual({ error: { code: 'UNAUTHORIZED', message: 'wrong API key' } });
    // The admin key is not the API key.
    expect((await call(hub, 'POST', '/api/publish', { body, key: ADMIN_KEY })).status).toBe(401);
    expect((await call(hub, 'POST', '/api/publish', { body, key })).status).toBe(200);
    expect(
      (await call(hub, 'POST', '/api/publish', { body, key, keyHeader: 'x-api-key' })).status,
    ).toBe(200);

    const { hub: keyless, io } = await startTestHub({ api: {} });
    const off = await call(keyless, 'POST', '/api/publish', { body, key });
    expect(off.status).toBe(401);
    expect(off.body).toEqual({
      error: {
        code: 'UNAUTHORIZED',
        message:
          'the HTTP API is off: no API key is configured (set TETHER_API_KEY, --api-key or api.key)',
      },
    });
    expect(io.err.join('\n')).toContain(
      'the HTTP API (/api/*) is off: no API key; set TETHER_API_KEY',
    );
  });
});

describe('HTTP API: publish, send, history', () => {
  it('publishes to subscribers and reads the topic history back', async () => {
    const { hub } = await startTestHub();
    const sub = rawClient(hub);
    await sub.frame((f) => f.t === 'welcome', 'welcome');
    sub.send({ t: 'sub', topic: 'demo:news' });
    await sub.frame((f) => f.t === 'subscribed', 'subscribed');

    for (let i = 1; i <= 3; i += 1) {
      const r = await call(hub, 'POST', '/api/publish', {
        key,
        body: { topic: 'demo:news', data: { n: i } },
      });
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ topic: 'demo:news', offset: i });
    }
    await sub.frame((f) => f.t === 'pub' && f.offset === 3, 'pub 3');
    expect(sub.frames.filter((f) => f.t === 'pub').map((f) => f.data)).toEqual([
      { n: 1 },
      { n: 2 },
      { n: 3 },
    ]);

    const all = await call(hub, 'GET', '/api/topics/demo:news/history', { key });
    expect(all.status).toBe(200);
    expect(all.body).toMatchObject({ topic: 'demo:news', offset: 3 });
    expect((all.body.publications as Array<{ data: unknown }>).map((p) => p.data)).toEqual([
      { n: 1 },
      { n: 2 },
      { n: 3 },
    ]);
    const epoch = all.body.epoch as string;

    const last = await call(hub, 'GET', '/api/topics/demo%3Anews/history?limit=2', { key });
    expect((last.body.publications as Array<{ offset: number }>).map((p) => p.offset)).toEqual([
      2, 3,
    ]);
    const after = await call(hub, 'GET', `/api/topics/demo:news/history?epoch=${epoch}&offset=1`, {
      key,
    });
    expect(after.body).toMatchObject({ recovered: true });
    expect((after.body.publications as Array<{ offset: number }>).map((p) => p.offset)).toEqual([
      2, 3,
    ]);
    const otherEpoch = await call(hub, 'GET', '/api/topics/demo:news/history?epoch=nope&offset=1', {
      key,
    });
    expect(otherEpoch.body).toMatchObject({ recovered: false, publications: [] });
  });

  it('keeps each namespace history bound (topics["ns:*"].history), the rest the hub-wide one', async () => {
    const { hub } = await startTestHub({
      history: { maxCount: 5 },
      topics: {
        'demo:*': { publish: 'authenticated', subscribe: 'authenticated' },
        'demo:short:*': {
          publish: 'authenticated',
          subscribe: 'authenticated',
          history: { maxCount: 3 },
        },
      },
    });
    for (let i = 1; i <= 8; i += 1) {
      for (const topic of ['demo:short:a', 'demo:long']) {
        const r = await call(hub, 'POST', '/api/publish', { key, body: { topic, data: i } });
        expect(r.status).toBe(200);
      }
    }
    const data = (body: Record<string, unknown>): unknown[] =>
      (body.publications as Array<{ data: unknown }>).map((p) => p.data);
    const short = await call(hub, 'GET', '/api/topics/demo:short:a/history', { key });
    expect(short.body).toMatchObject({ topic: 'demo:short:a', offset: 8 });
    expect(data(short.body)).toEqual([6, 7, 8]);
    const long = await call(hub, 'GET', '/api/topics/demo:long/history', { key });
    expect(long.body).toMatchObject({ topic: 'demo:long', offset: 8 });
    expect(data(long.body)).toEqual([4, 5, 6, 7, 8]);
  });

  it('sends to a session and to a user, reliably (stored with a sequence number)', async () => {
    const { hub } = await startTestHub();
    const client = rawClient(hub);
    const welcome = await client.frame((f) => f.t === 'welcome', 'welcome');
    const sid = welcome.sid as string;

    const toSession = await call(hub, 'POST', '/api/send', {
      key,
      body: { session: sid, data: 'hi' },
    });
    expect(toSession.status).toBe(200);
    expect(toSession.body).toEqual({ session: sid, seq: 1 });
    await client.frame(
      (f) => f.t === 'msg' && f.data === 'hi' && f.seq === 1,
      'msg to the session',
    );

    const unknown = await call(hub, 'POST', '/api/send', {
      key,
      body: { session: 'nope', data: 1 },
    });
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ error: { code: 'NOT_FOUND' } });
    const nobody = await call(hub, 'POST', '/api/send', { key, body: { user: 'nobody', data: 1 } });
    expect(nobody.status).toBe(404);
    expect((nobody.body.error as { message: string }).message).toMatch(
      /^user "nobody" has no session on this hub/,
    );
  });
});

describe('HTTP API: bad requests get a clear error and the hub keeps serving', () => {
  it.each([
    ['invalid JSON', { raw: '{"topic": "x", ' }, 400, 'BAD_JSON', /^body is not valid JSON: /],
    ['empty body', { raw: '' }, 400, 'BAD_REQUEST', /^body: expected a JSON object, got nothing$/],
    [
      'an array',
      { body: [1, 2] },
      400,
      'BAD_REQUEST',
      /^body: expected a JSON object with topic, data$/,
    ],
    ['no topic', { body: { data: 1 } }, 400, 'BAD_REQUEST', /^topic: expected a topic name/],
    [
      'a bad topic',
      { body: { topic: 'has space', data: 1 } },
      400,
      'BAD_REQUEST',
      /^topic: expected a topic name .*got "has space"$/,
    ],
    ['no data', { body: { topic: 'demo:x' } }, 400, 'BAD_REQUEST', /^data: required \(use null/],
    [
      'an unknown field',
      { body: { topic: 'demo:x', data: 1, extra: true } },
      400,
      'BAD_REQUEST',
      /^extra: unknown field \(known: topic, data\)$/,
    ],
    [
      'a form body',
      { raw: 'topic=x', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } },
      415,
      'UNSUPPORTED_MEDIA_TYPE',
      /^expected Content-Type: application\/json/,
    ],
    [
      'a body over the limit',
      { body: { topic: 'demo:x', data: 'x'.repeat(5000) } },
      413,
      'PAYLOAD_TOO_LARGE',
      /^body exceeds the limit of 4096 bytes \(limits\.maxBodyBytes\)/,
    ],
  ])('publish with %s → %i %s', async (_label, options, status, code, message) => {
    const { hub } = await startTestHub({ limits: { maxBodyBytes: 4096 } });
    const r = await call(hub, 'POST', '/api/publish', { key, ...options });
    expect(r.status).toBe(status);
    expect(r.body).toMatchObject({ error: { code } });
    expect((r.body.error as { message: string }).message).toMatch(message);
    // The hub still serves.
    expect(
      (await call(hub, 'POST', '/api/publish', { key, body: { topic: 'demo:x', data: null } }))
        .status,
    ).toBe(200);
  });

  it('refuses a chunked body past the limit without reading all of it', async () => {
    const { hub } = await startTestHub({ limits: { maxBodyBytes: 1024 } });
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        {
          host: HOST,
          port: hub.port,
          method: 'POST',
          path: '/api/publish',
          headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.write(`{"topic":"demo:x","data":"${'y'.repeat(4000)}`);
      // Never ends: the hub answers as soon as the limit is passed.
    });
    expect(status).toBe(413);
  });

  it('answers NOT_FOUND and METHOD_NOT_ALLOWED with the route named', async () => {
    const { hub } = await startTestHub();
    const nowhere = await call(hub, 'GET', '/api/nothing', { key });
    expect(nowhere).toMatchObject({ status: 404, body: { error: { code: 'NOT_FOUND' } } });
    const get = await call(hub, 'GET', '/api/publish', { key });
    expect(get).toMatchObject({
      status: 405,
      body: { error: { code: 'METHOD_NOT_ALLOWED', message: '/api/publish answers POST' } },
    });
    expect(get.headers.get('allow')).toBe('POST');
    const bad = await call(hub, 'GET', '/api/topics/demo:x/history?limit=0', { key });
    expect(bad).toMatchObject({
      status: 400,
      body: {
        error: { code: 'BAD_REQUEST', message: 'limit: expected an integer in [1, 1000], got "0"' },
      },
    });
    const half = await call(hub, 'GET', '/api/topics/demo:x/history?epoch=e', { key });
    expect(half.body).toMatchObject({
      error: { message: 'epoch and offset: give both (a position) or neither' },
    });
  });
});

describe('admin endpoints', () => {
  it('disconnects one connection by id, behind the admin key', async () => {
    const { hub } = await startTestHub();
    const client = rawClient(hub);
    const welcome = await client.frame((f) => f.t === 'welcome', 'welcome');
    const id = welcome.cid as string;
    expect((await call(hub, 'POST', `/admin/connections/${id}/disconnect`)).status).toBe(401);
    expect((await call(hub, 'POST', `/admin/connections/${id}/disconnect`, { key })).status).toBe(
      401,
    );
    const missing = await call(hub, 'POST', '/admin/connections/nope/disconnect', {
      key: ADMIN_KEY,
    });
    expect(missing).toMatchObject({ status: 404, body: { error: { code: 'NOT_FOUND' } } });
    const bad = await call(hub, 'POST', `/admin/connections/${id}/disconnect`, {
      key: ADMIN_KEY,
      body: { code: 1006 },
    });
    expect(bad).toMatchObject({ status: 400, body: { error: { code: 'BAD_REQUEST' } } });

    const done = await call(hub, 'POST', `/admin/connections/${id}/disconnect`, {
      key: ADMIN_KEY,
      body: { code: 4000, reason: 'bye' },
    });
    expect(done).toMatchObject({
      status: 200,
      body: { disconnected: id, code: 4000, reason: 'bye' },
    });
    expect(await client.closed).toEqual({ code: 4000, reason: 'bye' });
  });

  it('drains the hub: 202, readiness fails, clients get goodbye + 1012, the hub closes', async () => {
    const { hub } = await startTestHub();
    const client = rawClient(hub);
    await client.frame((f) => f.t === 'welcome', 'welcome');
    const { hub: keyless } = await startTestHub({ api: {} });
    const off = await call(keyless, 'POST', '/admin/drain', { key: ADMIN_KEY });
    expect(off.body).toMatchObject({
      error: { code: 'UNAUTHORIZED', message: expect.stringContaining('TETHER_ADMIN_KEY') },
    });

    const r = await call(hub, 'POST', '/admin/drain', { key: ADMIN_KEY });
    expect(r).toMatchObject({ status: 202, body: { status: 'draining', connections: 1 } });
    expect((await client.closed).code).toBe(1012);
    await hub.closed;
    expect(hub.http.listening).toBe(false);
  });
});
