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
 * Finds uPlot's distribution files in node_modules (the `uplot` package, resolved from
 * this package like an import would be), or `undefined` when it is not installed: the
 * dashboard then draws its charts with its own small canvas renderer.
 */
export function resolveUplot(from: string = import.meta.url): UplotFiles | undefined {
  const require = createRequire(from);
  let root: string;
  try {
    // The package's main file, then up to the package root: `uplot/package.json` is not
    // reachable through every version's `exports` map.
    root = packageRoot(require.resolve('uplot'));
  } catch {
    return undefined;
  }
  const js = join(root, 'dist', 'uPlot.esm.js');
  const css = join(root, 'dist', 'uPlot.min.css');
  return existsSync(js) && existsSync(css) ? { js, css } : undefined;
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
