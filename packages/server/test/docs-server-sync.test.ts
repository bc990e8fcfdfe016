/**
 * docs/server.md must cover the server's whole configuration surface, so that nothing
 * can be added to the code without being documented: every option the validators
 * accept (and every key of the public option types), every default with its value,
 * every statistic, every event and payload field, every connection member, every close
 * code the server's sources use (with the protocol table's name and action), and its
 * links must resolve.
 */

import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CloseCode, closeCodeInfo, ErrorCode, isSendableCloseCode } from '@tether/protocol';
import { createSqliteStore, type SqliteStoreOptions } from '@tether/store-sqlite';
import { describe, expect, it } from 'vitest';
import {
  type CloseEvent,
  type CloseOptions,
  type ConnectionInfo,
  createStore,
  type EndpointEvents,
  type EndpointOptions,
  type MessageEvent,
  type RateLimitOptions,
  type ResumeEvent,
  type RttEvent,
  SERVER_DEFAULTS,
  type SlowConsumerEvent,
  STORE_DEFAULTS,
  type StaleEvent,
  type StoreOptions,
  silentLogger,
  type TetherConnection,
  TetherServer,
  type TetherServerOptions,
} from '../src/index.js';
import { resolveEndpointOptions } from '../src/options.js';
import { resolveServerOptions } from '../src/server-options.js';

const DOCS = fileURLToPath(new URL('../../../docs/', import.meta.url));
const SRC = fileURLToPath(new URL('../src/', import.meta.url));
const doc = readFileSync(`${DOCS}server.md`, 'utf8');

// ---- the public option types, spelled out: tsc fails when a key is added to a type
// ---- and not here, and the tests below fail when it is here and not in the validator.

const SERVER_OPTIONS = {
  server: true,
  port: true,
  host: true,
  logger: true,
  clock: true,
  trustProxy: true,
  drainTimeoutMs: true,
  restartReconnectRate: true,
  headersTimeoutMs: true,
  requestTimeoutMs: true,
  store: true,
} satisfies Record<keyof TetherServerOptions, true>;

const ENDPOINT_OPTIONS = {
  heartbeatIntervalMs: true,
  heartbeatTimeoutMs: true,
  handshakeTimeoutMs: true,
  maxMessageBytes: true,
  maxBatch: true,
  maxConnectionsPerIp: true,
  rateLimit: true,
  maxSessionsPerUser: true,
  maxPendingRequests: true,
  origins: true,
  authenticate: true,
  authorizePublish: true,
  authorizeSubscribe: true,
  slowConsumerBytes: true,
  replayPageBytes: true,
  maxSubscriptionsPerConnection: true,
  resumeWindowMs: true,
  ackDelayMs: true,
  ackEvery: true,
  closeGraceMs: true,
  tokenRefreshLeadMs: true,
} satisfies Record<keyof EndpointOptions, true>;

/** Each rate-limit option and the `SERVER_DEFAULTS` key of its default. */
const RATE_LIMIT_DEFAULTS = {
  perSecond: 'ratePerSecond',
  burst: 'rateBurst',
  dropsBeforeClose: 'rateDropsBeforeClose',
} satisfies Record<keyof RateLimitOptions, keyof typeof SERVER_DEFAULTS>;

const STORE_OPTIONS = {
  clock: true,
  historyMaxCount: true,
  historyMaxAgeMs: true,
  historyFor: true,
  sessionMaxMessages: true,
  sessionMaxBytes: true,
  topicIdleMs: true,
  sweepIntervalMs: true,
  onError: true,
} satisfies Record<keyof StoreOptions, true>;

const SQLITE_OPTIONS = {
  ...STORE_OPTIONS,
  path: true,
  synchronous: true,
  busyTimeoutMs: true,
  maxBatch: true,
  batchMaxMs: true,
} satisfies Record<keyof SqliteStoreOptions, true>;

/** `close()` options (not checked for unknown keys by the code) and the defaults they fall back to. */
const CLOSE_OPTION_DEFAULTS = {
  drainTimeoutMs: 'drainTimeoutMs',
  reason: undefined,
  retryAfterMs: 'restartRetryAfterMs',
  retrySpreadMs: 'restartRetrySpreadMs',
} satisfies Record<keyof CloseOptions, keyof typeof SERVER_DEFAULTS | undefined>;

const EVENTS = {
  connection: true,
  message: true,
  close: true,
  rtt: true,
  resume: true,
  slowConsumer: true,
  stale: true,
} satisfies Record<keyof EndpointEvents, true>;

/** Payload fields per event (`connection`'s payload is the connection itself). */
const EVENT_FIELDS = {
  message: { connection: true, data: true, seq: true } satisfies Record<keyof MessageEvent, true>,
  close: {
    connection: true,
    code: true,
    reason: true,
    clean: true,
    initiatedBy: true,
  } satisfies Record<keyof CloseEvent, true>,
  rtt: { connection: true, rttMs: true } satisfies Record<keyof RttEvent, true>,
  resume: {
    connection: true,
    sessionId: true,
    requestedSessionId: true,
    resumed: true,
    reason: true,
  } satisfies Record<keyof ResumeEvent, true>,
  slowConsumer: { connection: true, bytes: true } satisfies Record<keyof SlowConsumerEvent, true>,
  stale: { connection: true, silentMs: true, closesInMs: true } satisfies Record<
    keyof StaleEvent,
    true
  >,
};

const CONNECTION_MEMBERS = {
  id: true,
  path: true,
  ip: true,
  user: true,
  data: true,
  sessionId: true,
  state: true,
  rttMs: true,
  info: true,
  send: true,
  close: true,
} satisfies Record<keyof TetherConnection, true>;

const CONNECTION_INFO = {
  id: true,
  path: true,
  ip: true,
  user: true,
  sessionId: true,
  client: true,
  state: true,
  connectedAt: true,
  lastSeenAt: true,
  rttMs: true,
  messagesIn: true,
  messagesOut: true,
  bytesIn: true,
  bytesOut: true,
  errors: true,
  bufferedBytes: true,
} satisfies Record<keyof ConnectionInfo, true>;

// ---- reading the validators and the document

const PROBE = 'notAnOption';

/** The keys a validator knows, read from the `unknown option (known: ...)` error it throws. */
function knownKeys(validate: () => unknown): string[] {
  try {
    validate();
  } catch (err) {
    const known = /unknown option \(known: ([^)]*)\)/.exec(String((err as Error).message));
    if ((err as { code?: unknown }).code === 'INVALID_OPTION' && known?.[1] !== undefined) {
      return known[1].split(', ');
    }
    throw err;
  }
  throw new Error(`the validator accepted the unknown key "${PROBE}"`);
}

const probe = { [PROBE]: 1 } as Record<string, unknown>;
const VALIDATED = {
  server: knownKeys(() => resolveServerOptions(probe as TetherServerOptions)),
  endpoint: knownKeys(() => resolveEndpointOptions(probe as EndpointOptions)),
  rateLimit: knownKeys(() =>
    resolveEndpointOptions({ rateLimit: probe as RateLimitOptions } as EndpointOptions),
  ),
  memoryStore: knownKeys(() => createStore({ kind: 'memory', ...probe })),
  sqliteStore: knownKeys(() => createSqliteStore({ kind: 'sqlite', path: ':memory:', ...probe })),
};

/** The text under a heading, up to the next heading of the same or a higher level. */
function section(text: string, heading: string): string {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.trim() === heading);
  if (start < 0) throw new Error(`no heading "${heading}"`);
  const level = heading.indexOf(' ');
  const end = lines.findIndex((l, i) => i > start && /^#+ /.test(l) && l.indexOf(' ') <= level);
  return lines.slice(start + 1, end < 0 ? undefined : end).join('\n');
}

interface Table {
  header: string[];
  rows: string[][];
}

/** Cells of a table line; `\|` inside a cell is not a separator. */
function cells(line: string): string[] {
  return line
    .trim()
    .replace(/^\|/, '')
    .replace(/\|$/, '')
    .split(/(?<!\\)\|/)
    .map((c) => c.trim());
}

function tables(text: string): Table[] {
  const found: Table[] = [];
  let lines: string[] = [];
  const end = (): void => {
    if (lines.length >= 2) {
      found.push({ header: cells(lines[0] as string), rows: lines.slice(2).map(cells) });
    }
    lines = [];
  };
  for (const line of text.split('\n')) {
    if (line.startsWith('|')) lines.push(line);
    else end();
  }
  end();
  return found;
}

/** The table of `heading` whose first header cell is `first` (the only one, or the `index`th). */
function table(heading: string, first: string, index = 0): Table {
  const match = tables(section(doc, heading)).filter((t) => t.header[0] === first)[index];
  if (match === undefined) throw new Error(`${heading}: no table headed "${first}" #${index}`);
  return match;
}

/** The row whose first cell is exactly `` `name` ``. */
function row(t: Table, name: string): string[] | undefined {
  return t.rows.find((r) => r[0] === `\`${name}\``);
}

/** Every `` `name` `` mentioned in a cell. */
function names(cell: string | undefined): string[] {
  return [...(cell ?? '').matchAll(/`([^`]+)`/g)].map((m) => m[1] as string);
}

const sorted = (keys: readonly string[]): string[] => [...keys].sort();
const literal = (value: unknown): string => `\`${String(value)}\``;

// ---- the tests

describe('docs/server.md: options', () => {
  it('the validators accept exactly the keys of the public option types', () => {
    expect(sorted(VALIDATED.server)).toEqual(sorted(Object.keys(SERVER_OPTIONS)));
    expect(sorted(VALIDATED.endpoint)).toEqual(sorted(Object.keys(ENDPOINT_OPTIONS)));
    expect(sorted(VALIDATED.rateLimit)).toEqual(sorted(Object.keys(RATE_LIMIT_DEFAULTS)));
    expect(sorted(VALIDATED.memoryStore)).toEqual(sorted(Object.keys(STORE_OPTIONS)));
    expect(sorted(VALIDATED.sqliteStore)).toEqual(sorted(Object.keys(SQLITE_OPTIONS)));
  });

  it('documents every server option, with its default', () => {
    const t = table('## Server options', 'Option');
    for (const name of VALIDATED.server) {
      const r = row(t, name);
      expect(r, `server option ${name}`).toBeDefined();
      if (name in SERVER_DEFAULTS) {
        const value = SERVER_DEFAULTS[name as keyof typeof SERVER_DEFAULTS];
        expect(r?.[2], `default of ${name}`).toContain(literal(value));
      }
    }
  });

  it('documents every endpoint option and rateLimit field, with its default', () => {
    const t = table('## Endpoint options', 'Option');
    for (const name of VALIDATED.endpoint) {
      const r = row(t, name);
      expect(r, `endpoint option ${name}`).toBeDefined();
      if (name in SERVER_DEFAULTS) {
        const value = SERVER_DEFAULTS[name as keyof typeof SERVER_DEFAULTS];
        expect(r?.[2], `default of ${name}`).toContain(literal(value));
      }
    }
    for (const name of VALIDATED.rateLimit) {
      const r = row(t, `rateLimit.${name}`);
      expect(r, `rateLimit.${name}`).toBeDefined();
      const key = RATE_LIMIT_DEFAULTS[name as keyof RateLimitOptions];
      expect(r?.[2], `default of rateLimit.${name}`).toContain(literal(SERVER_DEFAULTS[key]));
    }
  });

  it('documents every store option, with its default', () => {
    const t = table('## Stores', 'Option');
    for (const name of new Set([...VALIDATED.memoryStore, ...VALIDATED.sqliteStore])) {
      const r = row(t, name);
      expect(r, `store option ${name}`).toBeDefined();
      if (name in STORE_DEFAULTS) {
        const value = STORE_DEFAULTS[name as keyof typeof STORE_DEFAULTS];
        expect(r?.[2], `default of ${name}`).toContain(literal(value));
      }
    }
  });

  it('documents every close() option, with its default', () => {
    const t = table('## Graceful shutdown', 'Option');
    for (const [name, key] of Object.entries(CLOSE_OPTION_DEFAULTS)) {
      const r = row(t, name);
      expect(r, `close option ${name}`).toBeDefined();
      if (key !== undefined) expect(r?.[2]).toContain(literal(SERVER_DEFAULTS[key]));
    }
  });

  it('lists every SERVER_DEFAULTS and STORE_DEFAULTS key with its value', () => {
    const defaults: Array<[string, Record<string, unknown>]> = [
      ['`SERVER_DEFAULTS` key', SERVER_DEFAULTS],
      ['`STORE_DEFAULTS` key', STORE_DEFAULTS],
    ];
    for (const [header, values] of defaults) {
      const t = table('## Defaults and why', header);
      for (const [key, value] of Object.entries(values)) {
        expect(row(t, key)?.[1], `${header} ${key}`).toBe(literal(value));
      }
      expect(t.rows.length, `${header}: rows of keys that no longer exist`).toBe(
        Object.keys(values).length,
      );
    }
  });
});

describe('docs/server.md: events, connections, statistics', () => {
  it('documents every event and every payload field', () => {
    const events = table('## Events', 'Event');
    for (const name of Object.keys(EVENTS)) expect(row(events, name), name).toBeDefined();
    const fields = table('## Events', 'Field');
    for (const [event, payload] of Object.entries(EVENT_FIELDS)) {
      for (const field of Object.keys(payload)) {
        const documented = fields.rows.some(
          (r) => r[0] === `\`${field}\`` && (r[1] === 'all' || names(r[1]).includes(event)),
        );
        expect(documented, `${event}.${field}`).toBe(true);
      }
    }
  });

  it('documents every member of a connection and every info() field', () => {
    const members = table('## Connections', 'Member');
    for (const name of Object.keys(CONNECTION_MEMBERS)) {
      const documented = members.rows.some((r) => new RegExp(`^\`${name}[\`(]`).test(r[0] ?? ''));
      expect(documented, `connection.${name}`).toBe(true);
    }
    const info = table('## Connections', 'Field');
    for (const name of Object.keys(CONNECTION_INFO)) {
      expect(
        info.rows.some((r) => names(r[0]).includes(name)),
        `info().${name}`,
      ).toBe(true);
    }
  });

  it('documents every field of stats(), endpoint.stats() and its delivery details', async () => {
    const tether = new TetherServer({ logger: silentLogger });
    try {
      tether.endpoint('/ws');
      const server = tether.stats();
      const endpoint = server.endpoints[0];
      if (endpoint === undefined) throw new Error('no endpoint stats');
      const text = section(doc, '## Statistics');
      const rows = tables(text).flatMap((t) => t.rows);
      const documented = (name: string): boolean => rows.some((r) => names(r[0]).includes(name));
      const keys = [
        ...Object.keys(server),
        ...Object.keys(endpoint),
        ...Object.keys(endpoint.delivery),
      ];
      for (const key of keys) expect(documented(key), `stats field ${key}`).toBe(true);
      for (const key of Object.keys(server.topics)) expect(text).toContain(key);
      const cell = (name: string): string[] => names(rows.find((r) => r[0] === `\`${name}\``)?.[1]);
      for (const reason of Object.keys(endpoint.refused)) {
        expect(cell('refused'), `refused.${reason}`).toContain(reason);
      }
      for (const reason of Object.keys(endpoint.resumes.failed)) {
        expect(cell('resumes').join(' '), `resumes.failed.${reason}`).toContain(reason);
      }
    } finally {
      await tether.close();
    }
  });
});

describe('docs/server.md: codes and links', () => {
  it('lists every close code the server uses, with the protocol table name and action', () => {
    const byName = CloseCode as Record<string, number>;
    const used = new Set<number>();
    const files = readdirSync(SRC, { recursive: true, encoding: 'utf8' }).filter((f) =>
      f.endsWith('.ts'),
    );
    for (const file of files) {
      for (const m of readFileSync(`${SRC}${file}`, 'utf8').matchAll(/CloseCode\.([A-Z_]+)/g)) {
        const code = byName[m[1] as string];
        if (code !== undefined && isSendableCloseCode(code)) used.add(code);
      }
    }
    expect(used.size).toBeGreaterThan(10);
    const t = table('## Close codes', 'Code');
    const listed = new Set(t.rows.map((r) => Number(r[0])));
    for (const code of used) expect(listed.has(code), `close code ${code}`).toBe(true);
    for (const r of t.rows) {
      const info = closeCodeInfo(Number(r[0]));
      expect(info.name, `close code ${r[0]} is in the protocol table`).not.toBe('unknown');
      expect(r[1]).toBe(`[\`${info.name}\`](protocol.md#close-codes)`);
      expect(r[2], `action of ${r[0]}`).toBe(literal(info.action));
    }
  });

  it('lists only real error codes', () => {
    const codes = new Set<string>(Object.values(ErrorCode));
    for (const r of table('## Error frames', 'Code').rows) {
      expect(codes.has(names(r[0])[0] ?? ''), `error code ${r[0]}`).toBe(true);
    }
  });

  it('lists every section in the contents, and every relative link resolves', () => {
    const slug = (heading: string): string =>
      heading
        .trim()
        .toLowerCase()
        .replace(/[^\p{L}\p{N}\s_-]/gu, '')
        .replace(/\s/g, '-');
    const anchors = (text: string): Set<string> =>
      new Set([...text.matchAll(/^#{1,6} (.+)$/gm)].map((m) => slug(m[1] as string)));
    const contents = doc.slice(0, doc.indexOf('\n## '));
    for (const m of doc.matchAll(/^## (.+)$/gm)) {
      expect(contents, `contents entry for "${m[1]}"`).toContain(`(#${slug(m[1] as string)})`);
    }
    for (const m of doc.matchAll(/\]\(([\w-]*\.md)?(?:#([\w-]+))?\)/g)) {
      const [link, file, anchor] = m;
      const target = file === undefined ? doc : readFileSync(`${DOCS}${file}`, 'utf8');
      if (anchor !== undefined) expect(anchors(target).has(anchor), link).toBe(true);
    }
  });
});
