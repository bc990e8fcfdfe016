// Raw `ws` server for bench:compare: what an application writes on plain `ws`. Fan-out
// encodes each message once and calls `send` per client (no corking); echo answers from
// the message listener; with `heartbeatIntervalMs` one interval pings every client and
// terminates one silent for interval + `heartbeatTimeoutMs` (see ws-common.mjs).
// Driven over IPC like the Tether bench hub (see ws-common.mjs).
import { publishEach, runWsBenchServer } from './ws-common.mjs';

await runWsBenchServer(JSON.parse(process.argv[2] ?? '{}'), publishEach);
