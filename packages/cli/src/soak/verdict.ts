/**
 * The soak's bounds, as a pure function of two measurements of the idle server: one after
 * the warm-up, one after the run, each taken once every client has gone, every session's
 * resume window has passed and a full GC ran. Memory must be back within a tolerance of the
 * baseline, and every registry back to zero: what a cycle opened, it released.
 */

/** What the server child is told (JSON on its command line). */
export interface SoakChildConfig {
  store: 'memory' | `sqlite:${string}`;
  resumeWindowMs: number;
  topic: string;
  publishEveryMs: number;
  /** Publications made before the load starts, to fill the topic's history. */
  prefill: number;
}

/** One measurement of the server child. */
export interface SoakSnapshot {
  /** Whether a full GC ran first (the child has `--expose-gc`). */
  gc: boolean;
  rssBytes: number;
  heapUsedBytes: number;
  /** Memory of C++ objects bound to JS ones (Buffers among them): reported, not bounded. */
  externalBytes: number;
  connections: number;
  /** Sessions held in memory: connected, or disconnected within their resume window. */
  sessions: number;
  /** Session records the store holds: expired ones go at its next sweep (every 10 s). */
  storedSessions: number;
  pendingHandshakes: number;
  inFlight: number;
  subscriptions: number;
  /** `process.getActiveResourcesInfo()` of the child, counted by type. */
  resources: Record<string, number>;
  /** Publications made so far. */
  published: number;
}

/** The bounds of a soak. */
export interface SoakBounds {
  /** Allowed growth of RSS and of heap over the baseline, as a fraction (0.1 = 10 %). */
  memoryTolerance: number;
}

export interface SoakCheck {
  name: string;
  ok: boolean;
  detail: string;
}

const mib = (bytes: number): string => `${(bytes / 1_048_576).toFixed(1)} MiB`;

/** Every check of the soak; the soak passes when all are ok. */
export function soakChecks(
  baseline: SoakSnapshot,
  end: SoakSnapshot,
  bounds: SoakBounds,
): SoakCheck[] {
  const checks: SoakCheck[] = [];
  const memory = (name: string, from: number, to: number): void => {
    const limit = from * (1 + bounds.memoryTolerance);
    const growth = from === 0 ? 0 : (to - from) / from;
    checks.push({
      name,
      ok: to <= limit,
      detail: `${mib(from)} -> ${mib(to)} (${(growth * 100).toFixed(1)} %, bound +${bounds.memoryTolerance * 100} %)`,
    });
  };
  checks.push({
    name: 'gc',
    ok: end.gc && baseline.gc,
    detail: end.gc ? 'full GC before each measurement' : 'no --expose-gc',
  });
  memory('rss', baseline.rssBytes, end.rssBytes);
  memory('heap', baseline.heapUsedBytes, end.heapUsedBytes);
  for (const name of [
    'connections',
    'sessions',
    'storedSessions',
    'pendingHandshakes',
    'inFlight',
    'subscriptions',
  ] as const) {
    checks.push({ name, ok: end[name] === 0, detail: `${end[name]} (must be 0)` });
  }
  // Handles beyond the idle baseline: sockets, timers, file requests still alive.
  const extra = Object.entries(end.resources)
    .map(([type, count]) => [type, count - (baseline.resources[type] ?? 0)] as const)
    .filter(([, count]) => count > 0);
  checks.push({
    name: 'resources',
    ok: extra.length === 0,
    detail:
      extra.length === 0
        ? `back to the baseline (${JSON.stringify(end.resources)})`
        : `left behind: ${extra.map(([type, count]) => `${count} ${type}`).join(', ')}`,
  });
  return checks;
}
