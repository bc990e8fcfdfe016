// Child of drive.mjs, fanout.mjs and connect.mjs: the bench's Tether server (or raw ws with
// the README heartbeat, publishing as bench/servers/ws-batched-server.mjs does; or, as
// `ws-front`, ws behind raw-front.mjs, for connects only; FRONT=1 puts Tether's upgrade
// path behind it too; or, as `ws-hello`, raw ws answering a hello with a welcome; or, as
// `net-floor`, no WebSocket server at all, the 101 written by hand behind raw-front.mjs),
// answering the driver over IPC: memory after GC, CPU over a window (optionally with the
// V8 CPU profiler on), a heap snapshot, a publish burst. Files go to $PROFILE_OUT
// (default: cwd).
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import { writeHeapSnapshot } from 'node:v8';

const kind = process.argv[2];
const interval = Number(process.env.HB ?? 1000);
const out = process.env.PROFILE_OUT ?? process.cwd();
const inspector = new Session();
inspector.connect();
let url;
/** A welcome as the bench's Tether server sends it (325 bytes), its ids fixed. */
const FIXED_WELCOME =
  '{"t":"welcome","v":1,"sid":"DGWoEr.Nh_0NYmEO-7aAC5b","token":"8X8QLob6e3P-vlxPXqKFuwL4xq1KM2aq",' +
  '"cid":"aUO_sjko0quC","resumed":false,"ack":0,"hb":{"interval":600000,"timeout":10000},' +
  '"limits":{"maxMessageBytes":65536,"rate":9007199254740991,"burst":9007199254740991,' +
  '"maxBatch":1000},"resumeWindow":120000,"time":1796652234004}';
/** Publishes one burst `{ topic, count, payloadBytes, first }` (fanout.mjs). */
let publish;
if (kind === 'tether') {
  const { startBenchServer } = await import('../../packages/cli/dist/bench/hub-server.js');
  const server = await startBenchServer({
    host: '127.0.0.1',
    port: 0,
    heartbeatIntervalMs: interval,
  });
  url = server.url;
  // FRONT=1: connects come through raw-front.mjs instead of Node's HTTP server.
  if (process.env.FRONT) {
    url = await (await import('./raw-front.mjs')).listenTetherFront(server.tether.httpServer);
  }
  const { publishBurst } = await import('../../packages/cli/dist/bench/publish-burst.js');
  publish = (request) => publishBurst(server, request);
} else if (kind === 'ws-front') {
  url = await (await import('./raw-front.mjs')).listenRawWs();
} else if (kind === 'net-floor') {
  // WELCOME=1: a fixed welcome of a real one's size after the 101, in the same write.
  const welcome = process.env.WELCOME ? FIXED_WELCOME : undefined;
  url = await (await import('./raw-front.mjs')).listenNetFloor(welcome);
} else {
  const { WebSocketServer } = await import('ws');
  const { helloHandler } = await import('../servers/ws-common.mjs');
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  await new Promise((resolve) => wss.once('listening', resolve));
  const alive = new WeakSet();
  // ws-hello: a hello answered with a welcome, as bench:compare's ws (hello) server does.
  const welcome = kind === 'ws-hello' ? helloHandler() : undefined;
  wss.on('connection', (ws) => {
    alive.add(ws);
    ws.on('pong', () => alive.add(ws));
    ws.on('message', (data) => {
      const message = JSON.parse(data.toString());
      if (message.type === 'echo') ws.send(JSON.stringify(message));
      else if (message.t === 'hello' && welcome !== undefined) welcome(ws);
    });
  });
  setInterval(() => {
    for (const ws of wss.clients) {
      if (!alive.has(ws)) ws.terminate();
      else {
        alive.delete(ws);
        ws.ping();
      }
    }
  }, interval);
  url = `ws://127.0.0.1:${wss.address().port}/ws`;
  const { publishBatched } = await import('../servers/ws-common.mjs');
  // As ws-batched-server.mjs: one array per burst, framed once, written corked.
  publish = (request) => publishBatched(wss, request);
}

const gc = () => {
  globalThis.gc?.();
  globalThis.gc?.();
};
let before;
process.on('message', async (command) => {
  if (typeof command === 'object' && command.publish) {
    process.send({ published: await publish(command.publish) });
  } else if (command === 'mem') {
    gc();
    process.send({ mem: process.memoryUsage() });
  } else if (command === 'start') {
    if (process.env.PROF) {
      await inspector.post('Profiler.enable');
      await inspector.post('Profiler.setSamplingInterval', {
        interval: Number(process.env.PINT ?? 200),
      });
      await inspector.post('Profiler.start');
    }
    before = { cpu: process.cpuUsage(), at: performance.now() };
    process.send({ started: true });
  } else if (command === 'stop') {
    const cpu = process.cpuUsage(before.cpu);
    const wall = performance.now() - before.at;
    if (process.env.PROF) {
      const { profile } = await inspector.post('Profiler.stop');
      writeFileSync(join(out, `${kind}-${process.env.PROF}.cpuprofile`), JSON.stringify(profile));
    }
    process.send({
      cpu: ((cpu.user + cpu.system) / 1000 / wall) * 100,
      user: (cpu.user / 1000 / wall) * 100,
      system: (cpu.system / 1000 / wall) * 100,
      cpuMs: (cpu.user + cpu.system) / 1000,
      userMs: cpu.user / 1000,
      systemMs: cpu.system / 1000,
    });
  } else if (command === 'snap') {
    gc();
    process.send({ snap: writeHeapSnapshot(join(out, `${kind}.heapsnapshot`)) });
  } else if (command === 'exit') process.exit(0);
});
process.send({ url });
