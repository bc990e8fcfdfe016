// Shared by the raw `ws` bench servers: the published message and the heartbeat.

/** One fan-out message. */
export function benchPub(topic, n, pad) {
  return { type: 'pub', topic, data: { n, ts: Date.now(), pad } };
}

/**
 * ws's README heartbeat: every `intervalMs`, terminate each client that did not answer
 * the previous ping, and ping the others. Returns the interval (undefined: no heartbeat).
 */
export function startHeartbeat(wss, intervalMs) {
  if (intervalMs === undefined) return undefined;
  const alive = new WeakSet();
  const pong = function () {
    alive.add(this);
  };
  wss.on('connection', (ws) => {
    alive.add(ws);
    ws.on('pong', pong);
  });
  return setInterval(() => {
    for (const ws of wss.clients) {
      if (!alive.has(ws)) {
        ws.terminate();
        continue;
      }
      alive.delete(ws);
      ws.ping();
    }
  }, intervalMs);
}
