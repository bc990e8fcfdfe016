import { setting } from './config-registry.js';
import * as v from './config-values.js';

/**
 * The `backend` section of the hub's schema: where the hub forwards client events over
 * HTTP (docs/backend.md). The checks that span keys (a secret needs a URL, the retry
 * bounds, connect versus JWT) are the resolver's (config.ts): each key may come from
 * another source.
 */

/** Events the hub can forward to the application's backend. */
export const BACKEND_EVENTS = [
  'message',
  'request',
  'connect',
  'publish',
  'subscribe',
  'disconnect',
] as const;

/** One event's path, appended to `backend.url` (config file only). */
const path = (event: (typeof BACKEND_EVENTS)[number]) =>
  setting(v.urlPath().default(`/tether/${event}`), `path of ${event} calls, after backend.url`);

const PATHS = v.strictObject({
  message: path('message'),
  request: path('request'),
  connect: path('connect'),
  publish: path('publish'),
  subscribe: path('subscribe'),
  disconnect: path('disconnect'),
});

export const BACKEND = v.strictObject({
  url: setting(
    v.httpUrl().optional(),
    "your backend's base URL: client messages and requests are POSTed to it",
    { flag: '--backend-url', arg: '<url>', env: ['TETHER_BACKEND_URL'] },
  ),
  secret: setting(
    v.str({ minLength: 32, what: 'an HMAC secret (32+ characters)' }).optional(),
    'signs every backend call (X-Tether-Signature, HMAC-SHA256; 32+ characters)',
    { flag: '--backend-secret', arg: '<s>', env: ['TETHER_BACKEND_SECRET'] },
  ),
  // Messages and requests: what a backend is for; the others cost a call each and are
  // asked for by name.
  events: setting(
    v.subsetOf(BACKEND_EVENTS).default(['message', 'request']),
    `events forwarded: ${BACKEND_EVENTS.join(', ')}`,
    { flag: '--backend-events', arg: '<list>', env: ['TETHER_BACKEND_EVENTS'], text: 'list' },
  ),
  paths: PATHS.prefault({}),
  // 10 s: a backend slower than that is down for this attempt (a message is retried).
  timeoutMs: setting(v.duration(100, 600_000).default(10_000), 'deadline of one backend call', {
    env: ['TETHER_BACKEND_TIMEOUT'],
  }),
  // 64 calls in flight for the whole hub: a busy backend gets a bounded load (the
  // messages of one session go one at a time anyway); the rest wait their turn.
  concurrency: setting(v.int(1, 10_000).default(64), 'backend calls in flight at once, whole hub', {
    env: ['TETHER_BACKEND_CONCURRENCY'],
    text: 'int',
  }),
  // Full jitter from 200 ms, doubling, at most 10 s apart: the sessions an outage held
  // up do not come back in lockstep.
  retry: v
    .strictObject({
      minDelayMs: setting(
        v.duration(1, 3_600_000).default(200),
        'first retry delay of a message the backend failed (full jitter, doubling)',
        { env: ['TETHER_BACKEND_RETRY_MIN'] },
      ),
      maxDelayMs: setting(
        v.duration(1, 3_600_000).default(10_000),
        'largest retry delay of a message (at least backend.retry.minDelayMs)',
        { env: ['TETHER_BACKEND_RETRY_MAX'] },
      ),
    })
    .prefault({}),
});
