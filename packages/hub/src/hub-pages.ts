import { existsSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sendFile, sendText } from '@tether/dashboard';

/** Handles a request if it is for the demo page or the browser client; returns whether it did. */
export type PagesHandler = (request: IncomingMessage, response: ServerResponse) => boolean;

/** The demo page (a chat on the topic `demo:chat`). */
export const DEMO_PAGE = fileURLToPath(new URL('../public/demo.html', import.meta.url));

/** Where the browser bundle of the client is served. */
export const CLIENT_SCRIPT_PATH = '/tether-client.js';

const BUNDLE = 'tether-client.browser.js';

/**
 * The browser bundle of @tether/client (built by `npm run build`), found next to the
 * package's entry point, or in the monorepo when the package is not resolvable.
 */
export function clientBundlePath(): string | undefined {
  const candidates: string[] = [];
  try {
    candidates.push(
      join(dirname(createRequire(import.meta.url).resolve('@tether/client')), BUNDLE),
    );
  } catch {
    // Not resolvable (not built yet): try the monorepo layout below.
  }
  candidates.push(fileURLToPath(new URL(`../../client/dist/${BUNDLE}`, import.meta.url)));
  return candidates.find((path) => existsSync(path));
}

/**
 * Serves `GET /` (the demo page) and `GET /tether-client.js` (the browser client, so the
 * page and your own pages can `import { TetherClient } from '/tether-client.js'`).
 */
export function createPagesHandler(options: { demo: boolean }): PagesHandler {
  return (request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    const isGet = request.method === 'GET' || request.method === 'HEAD';
    if (path === CLIENT_SCRIPT_PATH || path === `/${BUNDLE}.map`) {
      if (!isGet) return false;
      const bundle = clientBundlePath();
      if (bundle === undefined) {
        sendText(response, 404, 'the browser client is not built: run npm run build\n');
        return true;
      }
      const file = path === CLIENT_SCRIPT_PATH ? bundle : `${bundle}.map`;
      void sendFile(response, file, request.method);
      return true;
    }
    if (options.demo && isGet && (path === '/' || path === '/index.html')) {
      void sendFile(response, DEMO_PAGE, request.method);
      return true;
    }
    return false;
  };
}
