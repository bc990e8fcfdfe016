// Raw `ws` server for bench:compare's connect row: what an application hand-rolls on
// plain `ws` to give its clients sessions: each client says hello once open and gets a
// welcome with a session id and token (see `helloHandler` in ws-common.mjs). Otherwise as
// ws-server.mjs; bench:compare runs it in the idle scenario only.
import { publishEach, runWsBenchServer } from './ws-common.mjs';

await runWsBenchServer(JSON.parse(process.argv[2] ?? '{}'), publishEach, { sessions: true });
