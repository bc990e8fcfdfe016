import { type Browser, type BrowserContextOptions, chromium, type Page } from 'playwright-core';
import { requireSystemDep, SYSTEM_DEPS } from './system-deps.js';
import { tempDir } from './temp.js';

/**
 * Flags for a quiet, deterministic headless Chromium in a container: no sandbox (we run as
 * root in CI), no GPU, no QUIC (tests speak TCP to 127.0.0.1), and none of the background
 * traffic (component updates, sync, field trials) that would race with the test's own.
 */
export const CHROMIUM_ARGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** A running Chromium owned by one test file. */
export interface ChromiumHandle {
  /** The Playwright browser; open contexts and pages on it freely. */
  readonly browser: Browser;
  /**
   * Opens a page in a fresh browser context: its own storage, cookies and network switch
   * (`page.context().setOffline(true)` takes only this "user" offline). Closing the page
   * closes its context.
   */
  newPage(options?: BrowserContextOptions): Promise<Page>;
  /** Closes the browser and removes its temporary files. Idempotent. */
  close(): Promise<void>;
}

/** Options of {@link launchChromium}. */
export interface LaunchChromiumOptions {
  /** Extra command-line flags, appended to {@link CHROMIUM_ARGS}. */
  extraArgs?: readonly string[];
  /** Playwright's launch timeout; default 60000 ms. */
  timeoutMs?: number;
}

/**
 * Launches the Debian `/usr/bin/chromium` headless through playwright-core.
 *
 * Every launch starts from a fresh, empty profile: Playwright creates a temporary
 * user-data dir for `launch()` and deletes it on close (it refuses a `--user-data-dir`
 * flag). Downloads and traces go to a temp dir of ours that `close()` removes. We use
 * `launch()` rather than `launchPersistentContext()` so that a test can open several
 * isolated contexts, one per simulated user.
 *
 * Throws {@link SystemDepMissingError} if Chromium is not installed; suites that want to
 * skip instead guard with `describe.skipIf(systemDepMissing('chromium'))`.
 */
export async function launchChromium(options: LaunchChromiumOptions = {}): Promise<ChromiumHandle> {
  requireSystemDep('chromium');
  const artifacts = await tempDir('tether-chromium-');
  let browser: Browser;
  try {
    browser = await chromium.launch({
      executablePath: SYSTEM_DEPS.chromium.path,
      args: [...CHROMIUM_ARGS, ...(options.extraArgs ?? [])],
      downloadsPath: artifacts.path,
      tracesDir: artifacts.path,
      timeout: options.timeoutMs ?? 60_000,
    });
  } catch (err) {
    await artifacts.cleanup();
    throw err;
  }

  let closing: Promise<void> | undefined;
  return {
    browser,
    async newPage(contextOptions) {
      const context = await browser.newContext(contextOptions);
      const page = await context.newPage();
      page.once('close', () => {
        void context.close().catch(() => {});
      });
      return page;
    },
    close() {
      closing ??= browser.close().finally(() => artifacts.cleanup());
      return closing;
    },
  };
}
