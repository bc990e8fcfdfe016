// Hand-optimised `ws` server for bench:compare: what a careful application writes for
// fan-out on `ws`. The messages of one turn go out as ONE JSON array, framed ONCE with
// `Sender.frame` (no per-client framing), and the same frame bytes are written
// to every client's socket between cork() and uncork(). Echo and heartbeat as in
// ws-server.mjs (ws-common.mjs).
import { publishBatched, runWsBenchServer } from './ws-common.mjs';

await runWsBenchServer(JSON.parse(process.argv[2] ?? '{}'), publishBatched);
