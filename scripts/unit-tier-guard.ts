/**
 * Setup file of the `unit` tier (vitest.config.ts): the tier promises logic only, with no
 * socket and no child process, so that it runs in seconds and never depends on the load
 * of the machine. This guard holds it to that: listening, connecting or starting a
 * process throws, and a test file that tried (even where the error was caught) fails.
 * A test that needs real sockets belongs to the `e2e` tier (vitest.tiers.ts).
 */
import childProcess from 'node:child_process';
import { syncBuiltinESMExports } from 'node:module';
import net from 'node:net';
import { afterAll } from 'vitest';

const attempts: string[] = [];

function refuse(what: string): never {
  attempts.push(what);
  throw new Error(
    `${what} in the unit tier: unit tests run without sockets and child processes; ` +
      'move the test to a file of the e2e tier (see vitest.tiers.ts)',
  );
}

net.Server.prototype.listen = function listen(): never {
  refuse('a server listen()');
};
net.Socket.prototype.connect = function connect(): never {
  refuse('a socket connect()');
};
const processFunctions = [
  'spawn',
  'spawnSync',
  'exec',
  'execSync',
  'execFile',
  'execFileSync',
  'fork',
] as const;
for (const name of processFunctions) {
  Object.defineProperty(childProcess, name, {
    value: () => refuse(`child_process.${name}()`),
    writable: true,
    configurable: true,
  });
}
// `import { spawn } from 'node:child_process'` reads the ESM bindings: update them too.
syncBuiltinESMExports();

afterAll(() => {
  if (attempts.length > 0) {
    throw new Error(`this unit test file tried: ${[...new Set(attempts)].join(', ')}`);
  }
});
