// A complete Tether backend in Express: the hub (`tether serve --backend-url ...`) POSTs
// client messages, requests, connects, publications, subscriptions and disconnects here.
// The contract is docs/backend.md; examples/backend-fastapi is the same backend in Python.
//
//   TETHER_BACKEND_SECRET=... PORT=8000 node server.mjs
//   TETHER_BACKEND_URL=http://127.0.0.1:8000 TETHER_BACKEND_SECRET=... \
//     TETHER_BACKEND_EVENTS=message,request,connect,publish,subscribe,disconnect npx tether serve
import { createHmac, timingSafeEqual } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import express from 'express';

/** Signatures older than this are refused (replays of a captured call). */
const MAX_SKEW_SECONDS = 300;

/** Whether `X-Tether-Signature` is the HMAC-SHA256 of "timestamp.body" under `secret`. */
export function verifySignature(secret, timestamp, signature, rawBody) {
  if (!/^\d+$/.test(timestamp ?? '') || typeof signature !== 'string') return false;
  if (Math.abs(Date.now() / 1000 - Number(timestamp)) > MAX_SKEW_SECONDS) return false;
  const expected = `v1=${createHmac('sha256', secret).update(`${timestamp}.${rawBody}`).digest('hex')}`;
  const a = Buffer.from(signature);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The backend: an Express app and what it stored (in memory, for the example). */
export function createBackend({ secret = process.env.TETHER_BACKEND_SECRET } = {}) {
  const app = express();
  /** Messages by Idempotency-Key: a message the hub delivers again is stored once. */
  const messages = new Map();
  const disconnects = [];

  // Keep the exact bytes: the signature is over them, not over a re-serialization.
  app.use(express.json({ verify: (req, _res, buf) => (req.rawBody = buf.toString('utf8')) }));
  app.use('/tether', (req, res, next) => {
    if (secret === undefined) return next();
    const ok = verifySignature(
      secret,
      req.get('X-Tether-Timestamp'),
      req.get('X-Tether-Signature'),
      req.rawBody ?? '',
    );
    if (!ok) return res.status(401).json({ error: { message: 'bad signature' } });
    next();
  });

  // A client's send(): 2xx acks it; 4xx refuses it for good (send() rejects with this
  // message); anything else (or no answer) makes the hub retry with the same key.
  app.post('/tether/message', (req, res) => {
    const key = req.get('Idempotency-Key');
    const { user, data } = req.body;
    if (messages.has(key)) return res.json({ duplicate: true });
    if (typeof data?.text !== 'string' || data.text.trim() === '') {
      return res
        .status(422)
        .json({ error: { code: 'INVALID_MESSAGE', message: 'text is required' } });
    }
    messages.set(key, { key, user, text: data.text });
    res.json({ stored: true });
  });

  // A client's request(method, data): the JSON body is the reply.
  app.post('/tether/request', (req, res) => {
    const { method, data } = req.body;
    if (method === 'sum') return res.json({ sum: Number(data?.a) + Number(data?.b) });
    if (method === 'messages') return res.json([...messages.values()]);
    res
      .status(404)
      .json({ error: { code: 'UNKNOWN_METHOD', message: `unknown method ${method}` } });
  });

  // Who may connect (instead of JWT): the user, its topics, and data for its welcome.
  app.post('/tether/connect', (req, res) => {
    const token = req.body.token ?? '';
    if (token.startsWith('banned-')) return res.status(403).json({ detail: 'this user is banned' });
    if (!token.startsWith('demo-')) return res.status(401).json({ detail: 'unknown token' });
    const user = token.slice('demo-'.length);
    res.json({
      user,
      topics: { publish: ['chat:*'], subscribe: ['chat:*'] },
      data: { greeting: `hello ${user}` },
    });
  });

  // A client's publish: refuse spam, stamp the rest with its author.
  app.post('/tether/publish', (req, res) => {
    const { user, data } = req.body;
    if (String(data?.text ?? '').includes('spam')) {
      return res.status(422).json({ detail: 'no spam, please' });
    }
    res.json({ data: { ...data, by: user } });
  });

  app.post('/tether/subscribe', (_req, res) => res.json({}));

  app.post('/tether/disconnect', (req, res) => {
    disconnects.push(req.body);
    res.json({});
  });

  // Not part of the contract: lets you (and the example's test) look inside.
  app.get('/messages', (_req, res) => res.json([...messages.values()]));
  app.get('/disconnects', (_req, res) => res.json(disconnects));

  return { app, messages, disconnects };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const port = Number(process.env.PORT ?? 8000);
  const { app } = createBackend();
  const server = app.listen(port, '127.0.0.1', () => {
    console.log(`backend listening on http://127.0.0.1:${server.address().port}`);
  });
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}
