#!/usr/bin/env node
// Prints the size of the browser bundle: minified, gzip and brotli.
//   npm run size                       print
//   npm run size -- --max-gzip=12000   also fail when the gzipped bundle is larger (bytes)
// Builds the bundle first when it is missing.

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { ENTRY, OUTFILE } from './build-browser.mjs';

function formatSize(bytes) {
  return `${bytes.toLocaleString('en-US')} B (${(bytes / 1024).toFixed(1)} KiB)`;
}

function main() {
  const maxArg = process.argv.find((arg) => arg.startsWith('--max-gzip='));
  const maxGzip = maxArg === undefined ? undefined : Number(maxArg.slice('--max-gzip='.length));
  if (maxGzip !== undefined && !(maxGzip > 0)) {
    console.error(`[size] --max-gzip must be a positive number of bytes, got ${maxArg}`);
    return 2;
  }

  if (!existsSync(ENTRY)) {
    console.log('[size] packages/client/src/browser.ts does not exist yet; nothing to measure');
    return 0;
  }
  if (!existsSync(OUTFILE)) {
    const buildScript = fileURLToPath(new URL('build-browser.mjs', import.meta.url));
    const built = spawnSync(process.execPath, [buildScript], { stdio: 'inherit' });
    if (built.status !== 0) return built.status ?? 1;
  }

  const code = readFileSync(OUTFILE);
  const gzip = gzipSync(code, { level: 9 }).length;
  const brotli = brotliCompressSync(code, {
    params: { [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY },
  }).length;
  console.log('packages/client/dist/tether-client.browser.js');
  console.log(`  minified  ${formatSize(code.length)}`);
  console.log(`  gzip      ${formatSize(gzip)}`);
  console.log(`  brotli    ${formatSize(brotli)}`);

  if (maxGzip !== undefined && gzip > maxGzip) {
    console.error(`[size] gzip size ${gzip} B exceeds the budget of ${maxGzip} B`);
    return 1;
  }
  return 0;
}

process.exitCode = main();
