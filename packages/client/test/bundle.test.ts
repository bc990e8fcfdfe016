import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tempDir } from '@tether/testkit';
import { describe, expect, it } from 'vitest';
import { bundleBrowserClient } from './helpers/bundle.js';

const srcDir = fileURLToPath(new URL('../src/', import.meta.url));

describe('browser build', () => {
  it('no source file imports a Node module or ws', () => {
    for (const file of readdirSync(srcDir)) {
      const text = readFileSync(`${srcDir}${file}`, 'utf8');
      const imports = [...text.matchAll(/from\s+'([^']+)'/g)].map((m) => m[1]);
      for (const spec of imports) {
        expect(spec, `${file} imports ${spec}`).toMatch(/^(\.\/|@tether\/(common|protocol)$)/);
      }
    }
  });

  it('bundles src/browser.ts for platform=browser with nothing from Node or ws', async () => {
    const dir = await tempDir('tether-client-bundle-');
    try {
      const metafile = await bundleBrowserClient(`${dir.path}/tether-client.js`);
      const inputs = Object.keys(metafile.inputs);
      expect(inputs.some((p) => p.includes('packages/client/src/browser.ts'))).toBe(true);
      expect(inputs.filter((p) => p.includes('node_modules') || p.startsWith('node:'))).toEqual([]);
      const output = Object.values(metafile.outputs)[0];
      expect(output?.exports).toEqual(
        expect.arrayContaining(['TetherClient', 'FinalCloseError', 'CLIENT_DEFAULTS']),
      );
    } finally {
      await dir.cleanup();
    }
  });
});
