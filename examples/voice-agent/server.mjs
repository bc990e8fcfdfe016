#!/usr/bin/env node
// The signalling channel of a voice agent on Tether: a browser sets up a call (offer and
// answer as a reliable request, ICE candidates as reliable sends both ways) with a Node
// agent. Heartbeats are long (60 s + 20 s) to spare mobile radios; a network blip resumes
// the session and the agent is told so, and no signalling message is lost or doubled.
//   node examples/voice-agent/server.mjs [--port 8787] [--candidates 40]
// then open http://127.0.0.1:8787/ (?ws=ws://host:port/signal to go through a proxy).
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ReplyError, silentLogger, TetherServer } from '@tether/server';

const { values: opts } = parseArgs({
  options: {
    port: { type: 'string', default: '8787' },
    candidates: { type: 'string', default: '40' }, // ICE candidates the agent sends per call
    'candidate-ms': { type: 'string', default: '20' }, // between two of them
  },
});
const PAGE = readFileSync(fileURLToPath(new URL('index.html', import.meta.url)));
const BUNDLE = fileURLToPath(
  new URL('../../packages/client/dist/tether-client.browser.js', import.meta.url),
);

// A voice call's signalling is idle for minutes while the media flows elsewhere: a 60 s
// heartbeat wakes a phone's radio less than the 25 s default. The browser client pings on
// its own after 60 s of silence either way, so a dead link is found within 80 s on both
// sides. A proxy on the path must allow 80 s of idle (nginx: proxy_read_timeout 90s).
const HEARTBEAT = { heartbeatIntervalMs: 60_000, heartbeatTimeoutMs: 20_000 };

/** The agent's calls: what it got and sent, and every session confirmation it was given. */
const calls = new Map();
const log = (text) => console.log(`agent  ${text}`);
const warn = (err) => log(`could not send: ${err.message}`);

const http = createServer((req, res) => {
  const path = new URL(req.url ?? '/', 'http://x').pathname;
  if (path === '/') return reply(res, 200, 'text/html; charset=utf-8', PAGE);
  if (path === '/tether-client.js') return reply(res, 200, 'text/javascript', readFileSync(BUNDLE));
  if (path === '/calls')
    return reply(res, 200, 'application/json', JSON.stringify([...calls.values()].map(view)));
  reply(res, 404, 'text/plain', 'not found\n');
});
const tether = new TetherServer({ server: http, logger: silentLogger });
const signal = tether.endpoint('/signal', { ...HEARTBEAT, resumeWindowMs: 120_000 });

// Call setup: the offer is a reliable request (runs once even when resent), the answer its reply.
signal.handle('call.offer', ({ callId, sdp }, { connection }) => {
  if (typeof callId !== 'string' || typeof sdp !== 'string')
    throw new ReplyError('BAD_OFFER', 'callId and sdp are required');
  if (!calls.has(callId)) startCall(callId, connection.sessionId);
  return { callId, sdp: `v=0 answer to ${sdp.length} bytes`, heartbeat: HEARTBEAT };
});
signal.handle('call.hangup', ({ callId }) => {
  const call = calls.get(callId);
  if (call === undefined) throw new ReplyError('NO_CALL', `no call ${callId}`);
  endCall(call, 'hangup');
  return view(call);
});
// Trickled ICE from the browser: reliable sends, so each arrives once and in order.
signal.onMessage(({ type, callId, n }) => {
  const call = calls.get(callId);
  if (type !== 'ice' || call === undefined) throw new ReplyError('NO_CALL', `no call ${callId}`);
  call.clientIce.push(n);
});
// Session confirmation: the agent learns whether the browser came back into its session
// (the call goes on, nothing lost) or in a new one (what the old one had in flight is gone).
signal.on('resume', ({ sessionId, requestedSessionId, resumed, reason }) => {
  for (const call of calls.values()) {
    if (call.sessionId !== requestedSessionId || call.state !== 'active') continue;
    call.confirmations.push({ resumed, reason: reason ?? null });
    log(`call ${call.callId}: session ${resumed ? 'resumed' : `lost (${reason})`}`);
    if (!resumed) endCall(call, `session ${reason}`);
    // Tell the page too, through the session it has now.
    signal
      .sendTo(sessionId, { type: 'session', callId: call.callId, resumed, state: call.state })
      .catch(warn);
  }
});

function startCall(callId, sessionId) {
  const call = {
    callId,
    sessionId,
    state: 'active',
    clientIce: [],
    agentIce: 0,
    confirmations: [],
    timer: undefined,
  };
  calls.set(callId, call);
  log(`call ${callId} set up for session ${sessionId}`);
  // The agent trickles its own candidates: sendTo is stored first, then delivered, and
  // replayed after a resume, so a candidate sent during a blip arrives after it.
  call.timer = setInterval(() => {
    if (call.agentIce >= Number(opts.candidates)) return clearInterval(call.timer);
    call.agentIce += 1;
    signal
      .sendTo(sessionId, {
        type: 'ice',
        callId,
        n: call.agentIce,
        candidate: `candidate:${call.agentIce} 1 udp 2122260223 10.0.0.9 ${40000 + call.agentIce} typ host`,
      })
      .catch(warn);
  }, Number(opts['candidate-ms']));
  return call;
}
function endCall(call, why) {
  clearInterval(call.timer);
  call.state = 'ended';
  log(`call ${call.callId} ended: ${why}`);
}
function view({ timer, ...call }) {
  return call;
}
function reply(res, status, type, body) {
  res.writeHead(status, { 'content-type': type });
  res.end(body);
}

http.listen(Number(opts.port), '127.0.0.1', () => {
  console.log(`voice agent on http://127.0.0.1:${http.address().port}/ (signalling: /signal)`);
});
const stop = () => {
  for (const call of calls.values()) clearInterval(call.timer);
  void tether.close({ drainTimeoutMs: 1_000 }).then(() => http.close(() => process.exit(0)));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
