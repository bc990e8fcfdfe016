import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The shape the sources keep (docs/STYLE: one concept per file; a connection's state
 * changes in its own class). A file past 400 lines usually holds two concepts; a field
 * written from another file is state changed where nobody guards, counts or logs it.
 */

const PACKAGES = fileURLToPath(new URL('../../', import.meta.url));
const MAX_LINES = 400;

function sources(pkg?: string): Array<{ file: string; text: string }> {
  const out: Array<{ file: string; text: string }> = [];
  for (const name of readdirSync(PACKAGES)) {
    if (pkg !== undefined && name !== pkg) continue;
    const src = join(PACKAGES, name, 'src');
    let files: string[];
    try {
      files = readdirSync(src, { recursive: true, encoding: 'utf8' });
    } catch {
      continue;
    }
    for (const f of files) {
      if (!/\.tsx?$/.test(f)) continue;
      out.push({ file: `${name}/src/${f}`, text: readFileSync(join(src, f), 'utf8') });
    }
  }
  return out;
}

/** Assignments to a member of an object that is not `this` (`conn.x = `, `sub.n += `, `x.y++`). */
function foreignWrites(text: string, bases: RegExp): string[] {
  const hits: string[] = [];
  for (const [i, line] of text.split('\n').entries()) {
    const code = line.replace(/\/\/.*$/, '');
    if (/^\s*\*/.test(code)) continue;
    const m = code.match(
      new RegExp(
        `\\b(${bases.source})\\.[A-Za-z_]+(\\[[^\\]]+\\])?\\s*(=(?![=>])|\\+=|-=|\\+\\+|--)`,
      ),
    );
    if (m) hits.push(`${i + 1}: ${line.trim()}`);
  }
  return hits;
}

describe('source shape', () => {
  it(`keeps every file in packages/*/src at ${MAX_LINES} lines or fewer`, () => {
    const long = sources()
      .map(({ file, text }) => ({ file, lines: text.split('\n').length - 1 }))
      .filter((f) => f.lines > MAX_LINES)
      .map((f) => `${f.file}: ${f.lines} lines`);
    expect(long).toEqual([]);
  });

  it('changes server connections, sessions, subscriptions and counters only through their methods', () => {
    const bases =
      /conn|connection|session|sub|subscriber|socket|ws|counters|tracker|[A-Za-z]+\.counters/;
    const writes = sources('server').flatMap(({ file, text }) =>
      foreignWrites(text, bases).map((hit) => `${file}:${hit}`),
    );
    expect(writes).toEqual([]);
  });

  it('changes client parts only through their methods', () => {
    const bases = /tracker|outbox|inbox|session|transport|lifecycle|retry|[A-Za-z]+\.tracker/;
    const writes = sources('client').flatMap(({ file, text }) =>
      foreignWrites(text, bases).map((hit) => `${file}:${hit}`),
    );
    expect(writes).toEqual([]);
  });
});
