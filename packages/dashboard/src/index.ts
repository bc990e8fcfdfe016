/**
 * @tether/dashboard — the live dashboard of a Tether server: plain HTML and ES modules
 * (no build step) that poll the server's `/stats` once a second and draw connections,
 * message rates, RTT percentiles, closes by code and resume outcomes over time, the
 * connections with their health, and the latest errors. Charts are drawn by uPlot (a
 * dependency, served from node_modules).
 *
 * @example
 * ```ts
 * import { createDashboardHandler } from '@tether/dashboard';
 *
 * const dashboard = createDashboardHandler({ basePath: '/dashboard', statsUrl: '/stats' });
 * http.createServer((req, res) => {
 *   if (dashboard(req, res)) return;
 *   // ... the application's routes
 * });
 * ```
 *
 * @packageDocumentation
 */
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkInt, OptionError } from '@tether/common';
import { sendFile, sendText } from './static-files.js';
import { resolveUplot, type UplotFiles } from './uplot.js';

export { contentTypeOf, sendFile, sendText } from './static-files.js';
export { resolveUplot, type UplotFiles } from './uplot.js';

/** Defaults of {@link createDashboardHandler}. */
export const DASHBOARD_DEFAULTS = {
  /** Where the dashboard is served. */
  basePath: '/dashboard',
  /** The stats endpoint the page polls. */
  statsUrl: '/stats',
  /** Poll period of the page, ms (the server samples once a second). */
  pollMs: 1_000,
} as const;

/** Options of {@link createDashboardHandler}. */
export interface DashboardOptions {
  /** URL path of the dashboard, without a trailing slash. Default `/dashboard`. */
  basePath?: string;
  /** URL the page polls for the stats JSON. Default `/stats`. */
  statsUrl?: string;
  /** Poll period in ms (≥ 250). Default 1000. */
  pollMs?: number;
  /** Page title. Default `Tether dashboard`. */
  title?: string;
  /** uPlot's files; default: found in node_modules ({@link resolveUplot}). */
  uplot?: UplotFiles;
}

/** Handles a request if it is for the dashboard; returns whether it did. */
export type DashboardHandler = (request: IncomingMessage, response: ServerResponse) => boolean;

/** Absolute path of the page's files (HTML, JS, CSS). */
export const DASHBOARD_PUBLIC_DIR = fileURLToPath(new URL('../public/', import.meta.url));

/**
 * Serves the dashboard under `basePath`: the page at `basePath` and `basePath/`, its
 * scripts and styles, and uPlot under `basePath/vendor/`. Requests elsewhere are left
 * to the caller (`false`).
 */
export function createDashboardHandler(options: DashboardOptions = {}): DashboardHandler {
  const basePath = (options.basePath ?? DASHBOARD_DEFAULTS.basePath).replace(/\/+$/, '');
  if (!/^(\/[A-Za-z0-9._~-]+)+$/.test(basePath)) {
    throw new OptionError(
      'basePath',
      `expected a path like "/dashboard", got "${options.basePath}"`,
    );
  }
  const pollMs = checkInt('pollMs', options.pollMs ?? DASHBOARD_DEFAULTS.pollMs, 250);
  const uplot = options.uplot ?? resolveUplot();
  const page = renderPage({
    basePath,
    statsUrl: options.statsUrl ?? DASHBOARD_DEFAULTS.statsUrl,
    pollMs,
    title: options.title ?? 'Tether dashboard',
    uplot: true,
  });
  const vendor: Record<string, string> = { 'uPlot.esm.js': uplot.js, 'uPlot.min.css': uplot.css };

  return (request, response) => {
    const path = (request.url ?? '/').split('?')[0] as string;
    if (path !== basePath && !path.startsWith(`${basePath}/`)) return false;
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.setHeader('Allow', 'GET, HEAD');
      sendText(response, 405, 'the dashboard answers GET and HEAD\n');
      return true;
    }
    const rest = path.slice(basePath.length + 1);
    if (rest === '' || rest === 'index.html') {
      void sendFile(response, 'index.html', request.method, page);
      return true;
    }
    if (rest.startsWith('vendor/')) {
      const file = vendor[rest.slice('vendor/'.length)];
      if (file === undefined) sendText(response, 404, 'not found\n');
      else void sendFile(response, file, request.method);
      return true;
    }
    const file = publicFile(rest);
    if (file === undefined) sendText(response, 404, 'not found\n');
    else void sendFile(response, file, request.method);
    return true;
  };
}

/** The file under the public dir for a relative URL path, refusing anything that climbs out. */
function publicFile(relative: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(relative);
  } catch {
    return undefined;
  }
  if (decoded.includes('\0') || !/^[A-Za-z0-9._/-]+$/.test(decoded)) return undefined;
  const file = normalize(join(DASHBOARD_PUBLIC_DIR, decoded));
  return file.startsWith(
    DASHBOARD_PUBLIC_DIR.endsWith(sep) ? DASHBOARD_PUBLIC_DIR : DASHBOARD_PUBLIC_DIR + sep,
  )
    ? file
    : undefined;
}

interface PageSettings {
  basePath: string;
  statsUrl: string;
  pollMs: number;
  title: string;
  uplot: boolean;
}

/** index.html with the settings filled in (HTML-escaped). */
function renderPage(settings: PageSettings): string {
  const template = readFileSync(join(DASHBOARD_PUBLIC_DIR, 'index.html'), 'utf8');
  const values: Record<string, string> = {
    BASE: settings.basePath,
    STATS_URL: settings.statsUrl,
    POLL_MS: String(settings.pollMs),
    TITLE: settings.title,
    UPLOT: settings.uplot ? '1' : '',
    UPLOT_CSS: settings.uplot
      ? `<link rel="stylesheet" href="${escapeHtml(settings.basePath)}/vendor/uPlot.min.css">`
      : '',
  };
  return template.replace(/\{\{([A-Z_]+)\}\}/g, (match, key: string) => {
    const value = values[key];
    if (value === undefined) return match;
    return key === 'UPLOT_CSS' ? value : escapeHtml(value);
  });
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
