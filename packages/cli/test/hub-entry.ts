/** `tether` from source, for tests that run the hub in a child process (see hub-process.ts). */
import { main } from '../src/index.js';

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exit(1);
  },
);
