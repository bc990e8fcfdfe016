/**
 * The browser entry: the same API as the package, bundled by
 * `scripts/build-browser.mjs` (esbuild) into dist/tether-client.browser.js.
 * It uses the page's `WebSocket`, `navigator.onLine` and `document`
 * visibility by default, and imports nothing from Node.
 */
export * from './index.js';
