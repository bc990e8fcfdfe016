import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** The uPlot files the dashboard loads, as absolute paths. */
export interface UplotFiles {
  /** The ES module build (`dist/uPlot.esm.js`). */
  js: string;
  /** Its stylesheet (`dist/uPlot.min.css`). */
  css: string;
}

/**
 * Finds uPlot's distribution files in node_modules (the `uplot` package, a dependency of
 * this one, resolved like an import would be). Throws when they are missing: the
 * installation is broken (run `npm install`).
 */
export function resolveUplot(from: string = import.meta.url): UplotFiles {
  const require = createRequire(from);
  // The package's main file, then up to the package root: `uplot/package.json` is not
  // reachable through every version's `exports` map.
  const root = packageRoot(require.resolve('uplot'));
  const js = join(root, 'dist', 'uPlot.esm.js');
  const css = join(root, 'dist', 'uPlot.min.css');
  if (!existsSync(js) || !existsSync(css)) {
    throw new Error(`uplot: ${js} or ${css} is missing; reinstall the dependencies (npm install)`);
  }
  return { js, css };
}

function packageRoot(file: string): string {
  let dir = dirname(file);
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('uplot: package root not found');
    dir = parent;
  }
  return dir;
}
