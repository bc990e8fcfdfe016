/**
 * examples/chat runs as its README says (`node examples/chat/run.mjs`) and two people chat
 * in one room in real Chromium: each sees every message once and in order; one goes
 * offline while the other writes (and writes one message itself meanwhile), and back
 * online gets every missed message exactly once; a reload shows the room's history.
 */
import { type ChromiumHandle, launchChromium, systemDepMissing } from '@tether/testkit';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ExampleProcess, startExample } from './example-process.js';

const ROOM = 'e2e';
/** How long alice stays offline: the period itself, not a guess at a delay. */
const OFFLINE_MS = 3_000;

describe.skipIf(systemDepMissing('chromium'))('examples/chat', () => {
  let chat: ExampleProcess;
  let chromium: ChromiumHandle;
  let origin: string;

  beforeAll(async () => {
    chat = await startExample(
      'examples/chat/run.mjs',
      ['--port', '0'],
      /chat: (http:\/\/127\.0\.0\.1:\d+)\//,
    );
    origin = chat.ready[1] ?? '';
    chromium = await launchChromium();
  });

  afterAll(async () => {
    await chromium?.close();
    expect(await chat?.stop()).toBe(0); // a graceful exit on SIGTERM
  });

  async function open(name: string): Promise<Page> {
    const page = await chromium.newPage();
    await page.goto(`${origin}/?room=${ROOM}&name=${name}`);
    await waitState(page, 'open');
    return page;
  }

  const waitState = (page: Page, state: string) =>
    page.waitForFunction((s) => document.getElementById('state')?.textContent === s, state, {
      timeout: 15_000,
    });
  const lines = (page: Page) => page.locator('#messages li').allTextContents();
  /** Waits until `page` shows exactly `expected` (every message once, in this order). */
  const waitLines = async (page: Page, expected: string[]) => {
    await page
      .waitForFunction(
        (want) =>
          JSON.stringify(
            Array.from(document.querySelectorAll('#messages li'), (li) => li.textContent),
          ) === want,
        JSON.stringify(expected),
        { timeout: 15_000 },
      )
      .catch(async (err: unknown) => {
        throw new Error(`${JSON.stringify(await lines(page))} != ${JSON.stringify(expected)}`, {
          cause: err,
        });
      });
  };
  const say = async (page: Page, text: string) => {
    await page.fill('#draft', text);
    await page.press('#draft', 'Enter');
  };

  it('two pages chat; one offline gets every missed message once; a reload shows history', async () => {
    const alice = await open('alice');
    const bob = await open('bob');
    try {
      // A conversation: each message is seen by both before the next is written.
      const expected: string[] = [];
      for (let i = 1; i <= 3; i++) {
        for (const [page, who] of [
          [alice, 'alice'],
          [bob, 'bob'],
        ] as const) {
          await say(page, `${who} ${i}`);
          expected.push(`${who}: ${who} ${i}`);
          await waitLines(alice, expected);
          await waitLines(bob, expected);
        }
      }

      // Alice goes offline; bob writes five messages and alice one (into her outbox).
      await alice.context().setOffline(true);
      const offlineAt = Date.now();
      await alice.waitForFunction(() => navigator.onLine === false);
      for (let i = 1; i <= 5; i++) {
        await say(bob, `while away ${i}`);
        expected.push(`bob: while away ${i}`);
        await waitLines(bob, expected);
      }
      await say(alice, 'typed offline');
      await alice.waitForSelector('#sending');
      expect(await lines(alice)).toEqual(expected.slice(0, 6)); // nothing reached her meanwhile
      await new Promise<void>((resolve) =>
        setTimeout(resolve, Math.max(0, OFFLINE_MS - (Date.now() - offlineAt))),
      );
      await alice.context().setOffline(false);

      // Back online: her message is published once, after bob's (it left her outbox now),
      // and she gets bob's five exactly once, in order.
      expected.push('alice: typed offline');
      await waitLines(alice, expected);
      await waitLines(bob, expected);
      await alice.waitForSelector('#sending', { state: 'detached' });
      // A last message after the catch-up: a late duplicate would have come before it.
      await say(bob, 'welcome back');
      expected.push('bob: welcome back');
      await waitLines(alice, expected);
      await waitLines(bob, expected);

      // A reload joins afresh: the room's last messages come from the hub's history.
      await bob.reload();
      await waitState(bob, 'open');
      await waitLines(bob, expected);
      expect(expected).toHaveLength(13);
    } finally {
      await alice.close();
      await bob.close();
    }
  }, 90_000);
});
