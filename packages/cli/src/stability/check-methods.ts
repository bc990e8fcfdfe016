import { formatDuration } from '@tether/common';
import { CHAOS_DEFAULTS } from '../chaos/args.js';
import {
  NETNS_DEFAULTS,
  NETNS_DETECTION_SLACK_MS,
  NETNS_PUBLISH_EVERY_MS,
  NETNS_SEND_EVERY_MS,
} from './netns-check.js';
import type { StabilityOptions } from './suite.js';

/**
 * How each check of the suite works and with which parameters, for the report: a number
 * means little to a skeptical reader without the method that produced it. One place, so
 * the report's method text and the parameters the suite ran with cannot drift apart.
 */

export interface CheckMethod {
  method: string;
  parameters: Array<[string, string | number]>;
}

const hb = (o: StabilityOptions): string =>
  `${formatDuration(o.heartbeatIntervalMs)} + ${formatDuration(o.heartbeatTimeoutMs)}`;

const METHODS: Record<string, (o: StabilityOptions) => CheckMethod> = {
  endpoints: (o) => ({
    method:
      'One HTTP server on a loopback port carries three Tether endpoints routed by path (/chat, /events, /devices with a token) and an application route. Real clients connect to each; the check asserts each endpoint answers its own requests, no message crosses endpoints, an unknown path gets 404, and /devices refuses a client without its token.',
    parameters: [['clients per endpoint', o.endpointClients]],
  }),
  concurrency: (o) => ({
    method:
      'One in-process server on loopback; real clients subscribe to one topic and send numbered reliable messages while the server publishes numbered publications. Every receiver audits its sequence: gaps (lost), repeats (duplicated) and numbers below the highest seen (reordered).',
    parameters: [
      ['clients', o.concurrentClients],
      ['publications', o.publications],
      ['sends per client', o.sendsPerClient],
    ],
  }),
  'long-lived': (o) => ({
    method:
      'Clients and a probe hold their connections to one server (a child process unless --hub in-process) while the other checks run, so it is measured under load. A publication goes out every heartbeat interval. Any drop, any reconnect, a missed server heartbeat or a missing publication fails it.',
    parameters: [
      ['hold', formatDuration(o.longLivedMs)],
      ['clients (+ 1 probe)', o.longLivedClients],
      ['heartbeat interval + timeout', hb(o)],
      ['server', o.hub],
    ],
  }),
  restart: (o) => ({
    method:
      'A server with a SQLite store is drained (goodbye + 1012 with a retry hint) and restarted, then killed (SIGKILL when it is a child process) and restarted, while clients receive numbered publications and send numbered messages. Every client must resume its session; both sequences are audited.',
    parameters: [
      ['clients', o.restartClients],
      ['server', o.hub],
      ['store', 'SQLite (WAL) in a temp dir'],
    ],
  }),
  chaos: (o) => ({
    method:
      'A user-space TCP fault proxy sits in front of each client (the `tether chaos` audit): latency with jitter, random resets, half-open stalls and periodic cuts. Numbered publications and sends flow through the faults; after they stop, everything must arrive, and stalls longer than interval + timeout must be detected by both sides.',
    parameters: [
      ['clients', o.chaosClients],
      ['duration', formatDuration(o.chaosDurationMs)],
      [
        'heartbeat interval + timeout',
        `${formatDuration(CHAOS_DEFAULTS.heartbeatIntervalMs)} + ${formatDuration(CHAOS_DEFAULTS.heartbeatTimeoutMs)}`,
      ],
      [
        'publications / sends per client',
        `${CHAOS_DEFAULTS.publishRate}/s / ${CHAOS_DEFAULTS.sendRate}/s`,
      ],
    ],
  }),
  netns: (o) => ({
    method:
      "Two network namespaces made for the run, joined by a veth (10.213.7.1/30 and .2): the server runs in one (`ip netns exec`), a child process with the real clients in the other. The kernel makes the faults, in the server namespace: iptables `-m statistic --mode random` drops on INPUT and OUTPUT (loss in each direction), DROP of every packet both ways (black hole: no RST, no ICMP) and the server veth set down, then up (link flap; the peer loses carrier). Publications and client sends are numbered and audited end to end. Detection time is measured per connection from the moment the fault was applied to that side's first close, on both sides.",
    parameters: [
      ['clients', o.netnsClients],
      ['heartbeat interval + timeout', hb(o)],
      [
        'detection bound',
        `${o.heartbeatIntervalMs + o.heartbeatTimeoutMs + NETNS_DETECTION_SLACK_MS} ms (interval + timeout + ${NETNS_DETECTION_SLACK_MS} ms)`,
      ],
      [
        'loss',
        `${Math.round(NETNS_DEFAULTS.lossProbability * 100)} % each direction for ${formatDuration(o.netnsLossMs)}`,
      ],
      ['publications', `one every ${NETNS_PUBLISH_EVERY_MS} ms`],
      ['client sends', `one per client every ${NETNS_SEND_EVERY_MS} ms`],
      ['black hole', formatDuration(o.netnsBlackHoleMs)],
      ['link down', formatDuration(o.netnsFlapMs)],
      ['catch-up deadline after each fault', formatDuration(NETNS_DEFAULTS.settleMs)],
    ],
  }),
};

/** The method and parameters of check `name`; a check the table does not know says so. */
export function checkMethod(name: string, options: StabilityOptions): CheckMethod {
  const describe = METHODS[name];
  return describe === undefined
    ? { method: 'No method on record for this check.', parameters: [] }
    : describe(options);
}

/**
 * What the suite does not test, said plainly: a pass means nothing about these.
 */
export const NOT_TESTED: readonly string[] = [
  'Real WAN paths: latency distributions, bufferbloat and long-fat-network behaviour of the internet. Every byte here crosses loopback or a veth on one machine; the chaos proxy adds synthetic latency, the namespaces none.',
  'Packet reordering and corruption at the IP layer: no `tc netem` on this kernel; loss is iptables random drops, which TCP repairs.',
  'NAT and carrier-grade NAT: mapping expiry, rebinding to a new address or port mid-session (mobile handover), asymmetric routes.',
  'Mobile radios and sleeping devices: radio power states, OS suspension of background apps, browser tab freezing beyond the unit tests of the client heartbeat.',
  'Proxies and load balancers in the path: TLS termination, HTTP/2 or HTTP/3 fronts, idle cuts of real products (only their typical 60 s / 100 s idle timeouts are outlasted by the long-lived hold).',
  'TLS itself: every connection of the suite is plain ws://.',
  'Multi-node clusters: no Redis-backed failover between nodes in this suite (the cluster tests cover it separately).',
  'Scale beyond one machine: client and server share CPU cores; thousands of connections and long soaks belong to `tether bench` and the soak run.',
  'Clock jumps (NTP steps, suspended VMs) and disk faults of the SQLite store (full disk, I/O errors).',
  'Clients other than the Node client: browsers, the Python client and MicroPython devices have their own tests, not this suite.',
];
