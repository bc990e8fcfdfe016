import { fileURLToPath } from 'node:url';
import { globSync } from 'tinyglobby';
import { describe, expect, it } from 'vitest';
import config from '../../../vitest.config.js';
import { SLOW_FILES, UNIT_FILES } from '../../../vitest.tiers.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const IGNORED = ['**/node_modules/**', '**/dist/**', '**/.git/**'];

interface Tier {
  name: string;
  files: Set<string>;
}

/** The files each vitest project runs, read from the config itself (tinyglobby, as vitest). */
function tiers(): Tier[] {
  const projects = config.test?.projects ?? [];
  return projects.map((project) => {
    if (typeof project !== 'object' || !('test' in project) || project.test === undefined) {
      throw new Error('every project in vitest.config.ts is an inline { test: {...} } object');
    }
    const { name, include = [], exclude = [] } = project.test;
    return {
      name: typeof name === 'string' ? name : String(name?.label),
      files: new Set(globSync(include, { cwd: root, ignore: [...IGNORED, ...exclude] })),
    };
  });
}

describe('test tiers', () => {
  it('are unit, e2e and slow', () => {
    expect(tiers().map((t) => t.name)).toEqual(['unit', 'e2e', 'slow']);
  });

  it('put every test file in exactly one tier', () => {
    const all = globSync('**/*.test.{ts,mts,cts,tsx,js,mjs,cjs}', { cwd: root, ignore: IGNORED });
    expect(all.length).toBeGreaterThan(50);
    const projects = tiers();
    const wrong = all
      .map((file) => ({ file, in: projects.filter((t) => t.files.has(file)).map((t) => t.name) }))
      .filter((entry) => entry.in.length !== 1)
      .map((entry) => `${entry.file}: ${entry.in.length === 0 ? 'no tier' : entry.in.join(' + ')}`);
    expect(wrong, 'fix vitest.tiers.ts').toEqual([]);
  });

  it('name no file that is gone (a stale pattern would silently move a test to e2e)', () => {
    const stale = [...UNIT_FILES, ...SLOW_FILES].filter(
      (pattern) => globSync(pattern, { cwd: root, ignore: IGNORED }).length === 0,
    );
    expect(stale).toEqual([]);
  });

  it('run the heartbeat rules as unit tests and the stability suite as a slow one', () => {
    const byName = new Map(tiers().map((t) => [t.name, t.files]));
    expect(byName.get('unit')?.has('packages/server/test/heartbeat-rules.test.ts')).toBe(true);
    expect(byName.get('e2e')?.has('packages/server/test/heartbeat.test.ts')).toBe(true);
    expect(byName.get('slow')?.has('packages/cli/test/stability.test.ts')).toBe(true);
  });
});
