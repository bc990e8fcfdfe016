#!/usr/bin/env node
// The `tether` command: a thin shim over the compiled CLI (run `npm run build` first).
import { main } from '../dist/index.js';

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exit(1);
  },
);
