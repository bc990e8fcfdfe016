import { describe, expect, it } from 'vitest';
import { configFromObject } from '../src/config.js';
import { opsClosed } from '../src/hub-ops-access.js';
import {
  ADMIN_KEY,
  API_KEY,
  call,
  cleanUpAfterEach,
  JWT_SECRET,
  OPS_KEY,
  rawClient,
  startTestHub,
} from './hub-helpers.js';

/**
 * Issue 9, finding 3: `/stats`, `/metrics` and `/dashboard` list user ids, IPs and the
 * hub's insides; they were open by default even with JWT and keys configured.
 */

const OPS_PATHS = ['/stats', '/metrics', '/dashboard', '/dashboard/dashboard.js'] as const;
const jwt = { mode: 'jwt', secret: JWT_SECRET } as const;

cleanUpAfterEach();

describe('operations endpoints closed unless said otherwise', () => {
  it('a JWT hub without an ops key answers 401 on /stats, /metrics and /dashboard, and says how to open them', async () => {
    const { hub, io } = await startTestHub({
      auth: jwt,
      api: { key: API_KEY, adminKey: ADMIN_KEY },
    });
    for (const path of OPS_PATHS) {
      const answer = await call(hub, 'GET', path);
      expect(answer.status, path).toBe(401);
      expect(answer.body, path).toMatchObject({ error: { code: 'UNAUTHORIZED' } });
      expect(String((answer.body.error as { message: string }).message)).toMatch(/TETHER_OPS_KEY/);
      // A key of another kind opens nothing here.
      expect((await call(hub, 'GET', path, { key: API_KEY })).status, path).toBe(401);
    }
    // Liveness and readiness stay open for probes.
    expect((await call(hub, 'GET', '/healthz')).status).toBe(200);
    expect((await call(hub, 'GET', '/readyz')).status).toBe(200);
    expect(io.err.join('\n')).toMatch(/\/stats, \/metrics and \/dashboard need the ops key/);
  });

  it('with ops.public: true they answer 200 and the start log warns', async () => {
    const { hub, io } = await startTestHub({
      auth: jwt,
      api: { key: API_KEY },
      ops: { public: true },
    });
    for (const path of OPS_PATHS) expect((await call(hub, 'GET', path)).status, path).toBe(200);
    expect(io.err.join('\n')).toMatch(/WARNING: .*ops\.public/);
  });

  it('with an ops key they answer to Bearer, X-Api-Key and Basic (the browser prompt), and nothing else', async () => {
    const { hub } = await startTestHub({ auth: jwt });
    const basic = `Basic ${Buffer.from(`ops:${OPS_KEY}`).toString('base64')}`;
    for (const path of OPS_PATHS) {
      expect((await call(hub, 'GET', path, { key: OPS_KEY })).status, path).toBe(200);
      expect(
        (await call(hub, 'GET', path, { key: OPS_KEY, keyHeader: 'x-api-key' })).status,
        path,
      ).toBe(200);
      expect((await call(hub, 'GET', path, { headers: { Authorization: basic } })).status).toBe(
        200,
      );
      const wrong = await call(hub, 'GET', path, { key: `${OPS_KEY}x` });
      expect(wrong.status, path).toBe(401);
      expect(wrong.headers.get('www-authenticate')).toMatch(/Basic realm="tether ops"/);
    }
  });

  it('an auth-off hub on loopback with no keys stays open; any key or auth closes it', () => {
    const closed = (input: object): boolean => opsClosed(configFromObject(input).config);
    expect(closed({ auth: { mode: 'none' } })).toBe(false);
    expect(closed({ auth: jwt })).toBe(true);
    expect(closed({ auth: { mode: 'none' }, api: { key: API_KEY } })).toBe(true);
    expect(closed({ auth: { mode: 'none' }, api: { adminKey: ADMIN_KEY } })).toBe(true);
    // Reachable from other machines: closed even with auth off.
    expect(closed({ auth: { mode: 'none' }, host: '0.0.0.0' })).toBe(true);
    expect(closed({ auth: jwt, ops: { public: true } })).toBe(false);
  });

  it('/stats shows neither session ids nor resume tokens, and caps the connections listed', async () => {
    const { hub } = await startTestHub();
    const client = rawClient(hub);
    const welcome = await client.frame((f) => f.t === 'welcome', 'welcome');
    const stats = await call(hub, 'GET', '/stats?connections=1000000', { key: OPS_KEY });
    expect(stats.status).toBe(200);
    const text = JSON.stringify(stats.body);
    expect(text).not.toContain(String(welcome.sid));
    expect(text).not.toContain(String(welcome.token));
    const rows = stats.body.connectionList as Array<Record<string, unknown>>;
    expect(rows).toHaveLength(1);
    expect(rows[0]).not.toHaveProperty('sessionId');
  });
});
