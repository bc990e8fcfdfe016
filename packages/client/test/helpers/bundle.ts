import { fileURLToPath } from 'node:url';
import { build, type Metafile } from 'esbuild';

const root = fileURLToPath(new URL('../../../../', import.meta.url));

/** The browser entry, bundled like scripts/build-browser.mjs does (ESM, platform browser). */
export async function bundleBrowserClient(outfile: string): Promise<Metafile> {
  const result = await build({
    entryPoints: [`${root}packages/client/src/browser.ts`],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2020',
    minify: true,
    tsconfig: `${root}tsconfig.json`,
    metafile: true,
    logLevel: 'silent',
  });
  return result.metafile;
}
