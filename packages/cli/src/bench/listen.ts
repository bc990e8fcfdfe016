import { SERVER_DEFAULTS } from '@tether/server';

/**
 * The listen backlog of every server `bench:compare` runs: Tether's own default, given to
 * the raw `ws` and Socket.IO servers too, so that the kernel queues the same connects for
 * each of them. With Node's 511 raw ws's overflowed in the idle scenario (three load
 * processes with 200 connects in flight each, waiting on a busy event loop): every
 * dropped SYN came back only after a 1 s retransmit, and those stragglers, not the
 * server, set the connect rate of a run. Socket.IO's server had the same 511.
 */
export const BENCH_LISTEN_BACKLOG: number = SERVER_DEFAULTS.listenBacklog;
