/**
 * Tables of docs/protocol.md that are generated from the code, so that the
 * document cannot drift from it. docs-sync.test.ts checks them; run it with
 * UPDATE_DOCS=1 to rewrite the generated blocks in place.
 */
import { CLOSE_CODES, type CloseAction, PROTOCOL_DEFAULTS, WIRE_LIMITS } from '../src/index.js';

const ACTION_TEXT: Record<CloseAction, string> = {
  reconnect: '`reconnect`',
  'reconnect-after-hint': '`reconnect-after-hint`',
  'reconnect-now': '`reconnect-now`',
  stop: '**`stop`**',
};

/** The close-code table, one row per entry of CLOSE_CODES. */
export function closeCodeTable(): string {
  const rows = CLOSE_CODES.map(
    (r) => `| ${r.code} | \`${r.name}\` | ${r.meaning} | ${ACTION_TEXT[r.action]} | ${r.hint} |`,
  );
  return [
    '| Code | Name | Meaning | Client action | Hint |',
    '| ---: | --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}

const WIRE_LIMIT_TEXT: Record<keyof typeof WIRE_LIMITS, [string, string]> = {
  maxTopicLength: ['Topic name', 'characters (`topic`, always ASCII)'],
  maxIdLength: [
    'String id (`req.id`, `res.id`, `publish.id`, `published.id`)',
    'UTF-16 code units',
  ],
  maxMethodLength: ['Request method name (`req.method`)', 'UTF-16 code units'],
  maxTokenLength: [
    'Session id, resume token, connection id, epoch (`sid`, `token`, `cid`, `epoch`)',
    'UTF-16 code units',
  ],
  maxAuthTokenLength: ['Token in an `auth` frame (`auth.token`)', 'UTF-16 code units'],
  maxBatch: ['Frames in one batch (also the largest `welcome.limits.maxBatch`)', 'frames'],
};

/** The wire limits: fixed by the format, not by server configuration. */
export function wireLimitsTable(): string {
  const rows = Object.entries(WIRE_LIMITS).map(([key, value]) => {
    const text = WIRE_LIMIT_TEXT[key as keyof typeof WIRE_LIMITS];
    if (!text) throw new Error(`doc-tables.ts: describe WIRE_LIMITS.${key}`);
    return `| ${text[0]} | ${value} | ${text[1]} | \`${key}\` |`;
  });
  return [
    '| What | At most | Unit | `WIRE_LIMITS` key |',
    '| --- | ---: | --- | --- |',
    ...rows,
  ].join('\n');
}

const DEFAULT_TEXT: Record<keyof typeof PROTOCOL_DEFAULTS, [string, string]> = {
  heartbeatIntervalMs: ['Heartbeat interval (`welcome.hb.interval`)', 'ms'],
  heartbeatTimeoutMs: ['Heartbeat timeout (`welcome.hb.timeout`)', 'ms'],
  resumeWindowMs: ['Resume window (`welcome.resumeWindow`)', 'ms'],
  maxMessageBytes: ['Largest WebSocket message (`welcome.limits.maxMessageBytes`)', 'bytes'],
};

/** The shared defaults: what a server announces in welcome unless configured otherwise. */
export function defaultsTable(): string {
  const rows = Object.entries(PROTOCOL_DEFAULTS).map(([key, value]) => {
    const text = DEFAULT_TEXT[key as keyof typeof PROTOCOL_DEFAULTS];
    if (!text) throw new Error(`doc-tables.ts: describe PROTOCOL_DEFAULTS.${key}`);
    return `| ${text[0]} | ${value} ${text[1]} | \`${key}\` |`;
  });
  return ['| Setting | Default | `PROTOCOL_DEFAULTS` key |', '| --- | ---: | --- |', ...rows].join(
    '\n',
  );
}

/** Generated blocks: marker name -> content. */
export const GENERATED: Record<string, () => string> = {
  'close-codes': closeCodeTable,
  'wire-limits': wireLimitsTable,
  defaults: defaultsTable,
};

/** The text between `<!-- name:begin -->` and `<!-- name:end -->`, trimmed; undefined if absent. */
export function generatedBlock(doc: string, name: string): string | undefined {
  const begin = `<!-- ${name}:begin (generated from packages/protocol/src; do not edit) -->`;
  const end = `<!-- ${name}:end -->`;
  const from = doc.indexOf(begin);
  const to = doc.indexOf(end);
  if (from < 0 || to < from) return undefined;
  return doc.slice(from + begin.length, to).trim();
}

/** `doc` with every generated block rewritten from the code. */
export function regenerate(doc: string): string {
  let out = doc;
  for (const [name, make] of Object.entries(GENERATED)) {
    const begin = `<!-- ${name}:begin (generated from packages/protocol/src; do not edit) -->`;
    const end = `<!-- ${name}:end -->`;
    const from = out.indexOf(begin);
    const to = out.indexOf(end);
    if (from < 0 || to < from) throw new Error(`docs/protocol.md lacks the ${name} markers`);
    out = `${out.slice(0, from + begin.length)}\n\n${make()}\n\n${out.slice(to)}`;
  }
  return out;
}
