/** examples/backend-express, started as its README says, behind a real hub. */
import { join } from 'node:path';
import { getFreePort } from '@tether/testkit';
import { afterEach, describe, it } from 'vitest';
import {
  cleanUpExample,
  EXAMPLES,
  exerciseExample,
  startProcess,
} from './backend-example-harness.js';

afterEach(cleanUpExample);

describe('examples/backend-express', () => {
  it('serves a hub as docs/backend.md says', async () => {
    const port = await getFreePort();
    const url = await startProcess(
      process.execPath,
      ['server.mjs'],
      join(EXAMPLES, 'backend-express'),
      port,
    );
    await exerciseExample(url);
  }, 60_000);
});
