/**
 * examples/backend-fastapi behind a real hub: uvicorn in a virtualenv made from its
 * requirements.txt (a pip install: minutes on a cold cache, so the slow tier).
 */
import { join } from 'node:path';
import { getFreePort, pythonVenv, systemDepMissing, VenvUnavailableError } from '@tether/testkit';
import { afterEach, describe, it } from 'vitest';
import {
  cleanUpExample,
  EXAMPLES,
  exerciseExample,
  startProcess,
} from './backend-example-harness.js';
import { HOST } from './hub-helpers.js';

afterEach(cleanUpExample);

describe.skipIf(systemDepMissing('python3-venv'))('examples/backend-fastapi', () => {
  it('serves a hub as docs/backend.md says (uvicorn, in a virtualenv from requirements.txt)', async (ctx) => {
    const dir = join(EXAMPLES, 'backend-fastapi');
    let venv: string;
    try {
      venv = await pythonVenv(join(dir, 'requirements.txt'));
    } catch (err) {
      if (!(err instanceof VenvUnavailableError) || isCi()) throw err;
      const bar = '!'.repeat(78);
      console.warn(`\n${bar}\n!!  SKIPPED: the FastAPI example: ${err.message}\n${bar}\n`);
      ctx.skip();
      return;
    }
    const port = await getFreePort();
    const url = await startProcess(
      join(venv, 'bin', 'python'),
      [
        '-m',
        'uvicorn',
        'app:app',
        '--host',
        HOST,
        '--port',
        String(port),
        '--log-level',
        'warning',
      ],
      dir,
      port,
    );
    await exerciseExample(url);
  }, 400_000);
});

function isCi(): boolean {
  const value = process.env.CI;
  return value !== undefined && value !== '' && value !== '0' && value.toLowerCase() !== 'false';
}
