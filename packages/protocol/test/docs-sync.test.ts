/**
 * docs/protocol.md must match the code: the generated tables are what the
 * code says today, every error code and every frame field is documented,
 * and every JSON example in the document is a valid frame for its sender.
 * Run with UPDATE_DOCS=1 to rewrite the generated tables.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  CLIENT_FRAME_TYPES,
  type Decoded,
  decodeMessage,
  ErrorCode,
  type Frame,
  SERVER_FRAME_TYPES,
  type Sender,
} from '../src/index.js';
import { GENERATED, generatedBlock, regenerate } from './doc-tables.js';
import { SCHEMAS } from './oracle.js';

const DOC_PATH = fileURLToPath(new URL('../../../docs/protocol.md', import.meta.url));

if (process.env.UPDATE_DOCS === '1') {
  writeFileSync(DOC_PATH, regenerate(readFileSync(DOC_PATH, 'utf8')));
}
const doc = readFileSync(DOC_PATH, 'utf8');

function decodeAll(text: string, sender: Sender): Decoded<Frame>[] {
  return sender === 'client' ? decodeMessage(text, 'client') : decodeMessage(text, 'server');
}

/** The text of the section under a heading line, up to the next heading of the same or higher level. */
function section(heading: string): string {
  const lines = doc.split('\n');
  const start = lines.findIndex((l) => l.trim() === heading);
  if (start < 0) throw new Error(`docs/protocol.md has no heading "${heading}"`);
  const level = heading.indexOf(' ');
  const end = lines.findIndex((l, i) => i > start && /^#+ /.test(l) && l.indexOf(' ') <= level);
  return lines.slice(start + 1, end < 0 ? undefined : end).join('\n');
}

/** Field paths of a frame type, nested ones dotted ("resume.sid"). */
function fieldPaths(t: string): string[] {
  const schema = SCHEMAS.client[t] ?? SCHEMAS.server[t] ?? {};
  const paths: string[] = ['t'];
  for (const [name, [kind]] of Object.entries(schema)) {
    paths.push(name);
    if (kind.k === 'object' && kind.fields)
      for (const inner of Object.keys(kind.fields)) paths.push(`${name}.${inner}`);
  }
  if (t === 'res') paths.push('data', 'error', 'error.code', 'error.message');
  if (t === 'error') paths.push('ref.t', 'ref.id', 'ref.seq', 'ref.topic', 'ref.index');
  return paths;
}

describe('docs/protocol.md', () => {
  for (const name of Object.keys(GENERATED)) {
    it(`the ${name} table is generated from the code (UPDATE_DOCS=1 rewrites it)`, () => {
      expect(generatedBlock(doc, name)).toBe((GENERATED[name] as () => string)());
    });
  }

  it('lists every error code in the error table, and no other', () => {
    const errors = section('## Errors');
    const listed = [...errors.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1]);
    expect([...listed].sort()).toEqual(Object.values(ErrorCode).sort());
  });

  it('documents every field of every frame type in its own section', () => {
    const types = new Set<string>([...CLIENT_FRAME_TYPES, ...SERVER_FRAME_TYPES]);
    for (const t of types) {
      const text = section(`### \`${t}\``);
      for (const path of fieldPaths(t)) {
        expect(text, `${t}: field ${path}`).toContain(`| \`${path}\` |`);
      }
    }
  });

  it('every JSON example is valid, for each sender that may send its type', () => {
    const blocks = [...doc.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => m[1] as string);
    expect(blocks.length).toBeGreaterThan(17);
    let frames = 0;
    for (const block of blocks) {
      const value = JSON.parse(block) as unknown;
      const items = Array.isArray(value) ? value : [value];
      const t = (items[0] as { t?: unknown } | undefined)?.t;
      if (typeof t !== 'string') continue;
      const senders = (['client', 'server'] as const).filter((s) =>
        (s === 'client' ? CLIENT_FRAME_TYPES : SERVER_FRAME_TYPES).some((x) =>
          items.some((i) => (i as { t: string }).t === x),
        ),
      );
      for (const sender of senders) {
        const allowed: readonly string[] =
          sender === 'client' ? CLIENT_FRAME_TYPES : SERVER_FRAME_TYPES;
        if (!items.every((i) => allowed.includes((i as { t: string }).t))) continue;
        for (const result of decodeAll(block, sender)) {
          expect(result.ok, `${sender}: ${block}`).toBe(true);
          frames++;
        }
      }
    }
    expect(frames).toBeGreaterThan(17);
  });

  it('every line of the transcripts is a valid frame from its sender', () => {
    const lines = [...doc.matchAll(/^(C>|S>) (.+)$/gm)];
    expect(lines.length).toBeGreaterThan(10);
    for (const [, who, text] of lines) {
      const sender: Sender = who === 'C>' ? 'client' : 'server';
      for (const result of decodeAll(text as string, sender)) {
        expect(result.ok, `${who} ${text}`).toBe(true);
      }
    }
  });
});
