import { formatDuration } from '@tether/common';
import { CloseCode, closeCodeInfo } from '@tether/protocol';

/**
 * Turns what the probe saw into a likely cause a person can act on. The close code's
 * meaning comes from the protocol's close-code table; the cause adds what the code alone
 * cannot say (how long the link had been silent, whether pings went unanswered).
 */

/** Idle timeouts of common proxies and load balancers, in seconds. */
export const COMMON_IDLE_TIMEOUTS_S: ReadonlyArray<{ seconds: number; who: string }> = [
  { seconds: 30, who: 'e.g. some cloud load balancers and API gateways' },
  { seconds: 55, who: 'e.g. Heroku' },
  { seconds: 60, who: 'e.g. nginx proxy_read_timeout, AWS ALB/ELB' },
  { seconds: 100, who: 'e.g. Cloudflare' },
  { seconds: 120, who: 'e.g. some corporate proxies' },
  { seconds: 240, who: 'e.g. the Azure load balancer' },
  { seconds: 300, who: 'e.g. HAProxy timeout tunnel setups' },
  { seconds: 350, who: 'e.g. the AWS NAT gateway' },
  { seconds: 600, who: 'e.g. long-lived proxy defaults' },
];

/** A silence shorter than this is not treated as an idle cut. */
const IDLE_CUT_MIN_SILENCE_MS = 20_000;
/** A silence within this fraction of a common idle timeout is attributed to it. */
const IDLE_MATCH_TOLERANCE = 0.1;

/** The start of a message (JSON-quoted, 40 characters at most), for a diagnosis. */
export function preview(text: string): string {
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}...` : text);
}

/** What the probe knew when the connection closed. */
export interface CloseContext {
  code: number;
  reason: string;
  /** Time from the open to the close. */
  afterMs: number;
  /** Time since the last byte received at the close. */
  silenceMs: number;
  /** Pings that got no answer before the close. */
  unansweredPings: number;
  /** `server`: a close frame arrived; `network`: the socket dropped; `probe`: the probe gave up on a dead link. */
  by: 'server' | 'network' | 'probe';
  /** The `goodbye` the server sent first, if any (Tether mode). */
  goodbye: { code: number; reason: string; retryAfter: number | undefined } | undefined;
  /** Whether the probe offered a token. */
  hadToken: boolean;
  raw: boolean;
}

/** The explanation of a close. */
export interface CloseDiagnosis {
  name: string;
  meaning: string;
  likelyCause: string;
}

/** Explains a close: the table's meaning plus the likely cause. */
export function diagnoseClose(ctx: CloseContext): CloseDiagnosis {
  const info = closeCodeInfo(ctx.code);
  const after = formatDuration(ctx.afterMs);
  return { name: info.name, meaning: info.meaning, likelyCause: likelyCause(ctx, after) };
}

function likelyCause(ctx: CloseContext, after: string): string {
  const hint =
    ctx.goodbye?.retryAfter === undefined ? '' : ` (retry after ${ctx.goodbye.retryAfter} ms)`;
  switch (ctx.code) {
    case CloseCode.ABNORMAL:
      return abnormalCause(ctx, after);
    case CloseCode.HEARTBEAT_TIMEOUT:
      return ctx.by === 'probe'
        ? `no answer to pings for ${formatDuration(ctx.silenceMs)}: a half-open link (NAT or firewall state lost, dead Wi-Fi, a paused VM or server)`
        : 'the server heard nothing from this client for its heartbeat interval + timeout: a half-open link, or a proxy that swallows traffic in one direction';
    case CloseCode.SERVICE_RESTART:
      return `the server is restarting or draining (a deploy)${hint}; clients reconnect and resume`;
    case CloseCode.GOING_AWAY:
      return 'the server or a proxy in front of it is shutting down without a drain';
    case CloseCode.NORMAL:
      return `the server ended the connection on purpose after ${after}${ctx.reason ? `: "${ctx.reason}"` : ''}`;
    case CloseCode.POLICY_VIOLATION:
      return ctx.raw
        ? 'the server closed for a policy violation (often a rate limit or an origin check)'
        : `the server's rate limit: the probe sent too much${hint}`;
    case CloseCode.MESSAGE_TOO_BIG:
      return 'a message exceeded the size limit of the other side';
    case CloseCode.INTERNAL_ERROR:
      return 'the server hit an unexpected error: check its logs';
    case CloseCode.TRY_AGAIN_LATER:
      return `the server is overloaded${hint}`;
    case CloseCode.UNAUTHORIZED:
      return ctx.hadToken
        ? 'the server refused the token (invalid or expired)'
        : 'the server needs credentials: pass --token';
    case CloseCode.FORBIDDEN:
      return 'the credentials are valid but lack permission for this endpoint';
    case CloseCode.SLOW_CONSUMER:
      return "the probe read too slowly and the server's send buffer passed its limit (an overloaded probe machine or a throttled link)";
    case CloseCode.PROTOCOL_ERROR:
    case CloseCode.UNSUPPORTED_DATA:
      return ctx.raw
        ? 'the server rejected what it received as a protocol error'
        : 'the server rejected the Tether handshake: if it is not a Tether server, use --raw';
    case CloseCode.UNSUPPORTED_VERSION:
      return 'the server speaks another Tether protocol version: upgrade the client or the server';
    default:
      return closeCodeInfo(ctx.code).hint;
  }
}

function abnormalCause(ctx: CloseContext, after: string): string {
  if (ctx.unansweredPings > 0) {
    return `the network path stopped delivering: ${ctx.unansweredPings} ping(s) unanswered before the drop after ${after}`;
  }
  if (ctx.silenceMs >= IDLE_CUT_MIN_SILENCE_MS) {
    const seconds = ctx.silenceMs / 1000;
    const silence = `${seconds.toFixed(1)} s`;
    const match = closestIdleTimeout(seconds);
    const known =
      match === undefined ? '' : ` (${match.seconds} s is a common limit, ${match.who})`;
    return `an idle timeout in a proxy or load balancer: nothing arrived for ${silence} before the cut${known}; lower the heartbeat interval below it`;
  }
  if (ctx.afterMs < 1_000) {
    return `dropped ${after} after the upgrade: the server crashed, or a proxy accepted the upgrade but cannot carry WebSocket traffic; check the server's logs`;
  }
  return `dropped without a close frame after ${after} while traffic was flowing: a server crash or a restart without drain, a proxy restart, or a network change`;
}

/** The common idle timeout nearest to `seconds`, when within the tolerance. */
function closestIdleTimeout(seconds: number): (typeof COMMON_IDLE_TIMEOUTS_S)[number] | undefined {
  let best: (typeof COMMON_IDLE_TIMEOUTS_S)[number] | undefined;
  for (const t of COMMON_IDLE_TIMEOUTS_S) {
    const distance = Math.abs(seconds - t.seconds);
    if (distance > t.seconds * IDLE_MATCH_TOLERANCE) continue;
    if (best === undefined || distance < Math.abs(seconds - best.seconds)) best = t;
  }
  return best;
}

/** What went wrong before the connection opened. */
export interface FailureContext {
  /** HTTP status of a refused upgrade. */
  status?: number;
  retryAfter?: string;
  /** Node error code (ECONNREFUSED, ...) or message. */
  errorCode?: string;
  errorMessage?: string;
  /** The deadline that ran out: `open` (upgrade) or `welcome`. */
  timedOut?: 'open' | 'welcome';
  timeoutMs?: number;
  hadToken: boolean;
  raw: boolean;
}

/** Explains a connection that never opened (or never got its welcome). */
export function diagnoseFailure(ctx: FailureContext): string {
  const retry = ctx.retryAfter === undefined ? '' : ` (Retry-After: ${ctx.retryAfter})`;
  if (ctx.timedOut === 'welcome') {
    return `the upgrade succeeded but no welcome came within ${formatDuration(ctx.timeoutMs ?? 0)}: not a Tether server (use --raw), or an overloaded one`;
  }
  if (ctx.timedOut === 'open') {
    return `no upgrade within ${formatDuration(ctx.timeoutMs ?? 0)}: a firewall dropping packets, an overloaded server, or a proxy holding the request`;
  }
  if (ctx.status !== undefined) return statusCause(ctx.status, retry, ctx);
  const code = ctx.errorCode ?? '';
  const message = ctx.errorMessage ?? '';
  if (code === 'NOT_TETHER') {
    return `the server answered with something that is not a Tether frame (${message}): not a Tether server, use --raw`;
  }
  if (code === 'ECONNREFUSED')
    return 'nothing listens at this address: the server is down or the port is wrong';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'the host name does not resolve';
  if (code === 'ETIMEDOUT' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH') {
    return 'the host is unreachable: a firewall, a routing problem, or the wrong address';
  }
  if (code === 'ECONNRESET' || code === 'EPIPE') {
    return 'the connection was reset during the upgrade: a proxy that does not pass WebSocket upgrades, or TLS on a plain port (or the reverse)';
  }
  if (/no subprotocol|subprotocol/i.test(message)) {
    return 'the server accepted the WebSocket but not the tether.v1 subprotocol: not a Tether server, use --raw';
  }
  if (
    /certificate|self[- ]signed|SSL|TLS/i.test(message) ||
    code.startsWith('ERR_TLS') ||
    code.includes('CERT')
  ) {
    return 'TLS failed: check the certificate and the wss:// URL';
  }
  return `the connection failed: ${message || code || 'unknown error'}`;
}

function statusCause(status: number, retry: string, ctx: FailureContext): string {
  switch (status) {
    case 400:
      return ctx.raw
        ? 'the server refused the upgrade as malformed (wrong path, or it requires a subprotocol: see --subprotocol)'
        : 'the server refused the upgrade (400): a wrong path, or a server that does not speak tether.v1 (use --raw)';
    case 401:
      return ctx.hadToken
        ? 'the server refused the token (401): invalid or expired'
        : 'the server needs credentials (401): pass --token';
    case 403:
      return 'the upgrade was forbidden (403): the Origin or the credentials were refused';
    case 404:
      return 'no WebSocket endpoint at this path (404): check the path of the URL';
    case 426:
      return 'the server wants another protocol or version (426): check the subprotocol (Tether mode offers tether.v1; use --raw otherwise)';
    case 429:
      return `too many connections from this address (429): a per-IP limit${retry}`;
    case 502:
    case 504:
      return `a proxy could not reach the server (${status}): the backend is down or too slow`;
    case 503:
      return `the server is draining or overloaded (503)${retry}`;
    default:
      if (status >= 300 && status < 400)
        return `the upgrade was redirected (${status}): use the final URL`;
      return `the upgrade was refused with HTTP ${status}${retry}`;
  }
}
