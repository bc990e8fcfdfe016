#!/usr/bin/env node
// The `tether` command: a thin shim over the compiled CLI (run `npm run build` first).
import { main } from '../dist/index.js';

const argv = process.argv.slice(2);
// The measuring tools report a failure as a verdict with a reason: one line and exit 1,
// also for an error nothing inside them expected (that is a bug to report, not a crash).
// `serve` keeps Node's default, a stack trace, for whoever runs the server.
const tool = ['probe', 'bench', 'chaos', 'stability'].includes(argv[0] ?? '') ? argv[0] : undefined;
const oneLine = (err) => {
  if (!(err instanceof Error)) return String(err);
  return err.code === undefined ? err.message : `${err.message} (${err.code})`;
};
if (tool !== undefined) {
  const fail = (err) => {
    process.stderr.write(`tether ${tool}: internal error: ${oneLine(err)}\n`);
    process.exit(1);
  };
  process.on('uncaughtException', fail);
  process.on('unhandledRejection', fail);
}

main(argv).then(
  (code) => process.exit(code),
  (err) => {
    if (tool !== undefined) process.stderr.write(`tether ${tool}: ${oneLine(err)}\n`);
    else console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exit(1);
  },
);
