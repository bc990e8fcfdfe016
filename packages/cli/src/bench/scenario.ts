import type { BenchArgs, ScenarioName } from './args.js';
import type { BenchHub } from './hub.js';
import type { BenchServerOptions } from './hub-server.js';
import type { AdapterSpec } from './load-adapter.js';
import type { ClientPool } from './pool.js';
import type { Progress } from './progress.js';

/** What every scenario gets. */
export interface ScenarioContext {
  args: BenchArgs;
  hub: BenchHub;
  pool: ClientPool;
  /** The client stack of the load connections (`tether`; bench:compare adds others). */
  adapter: AdapterSpec;
  /** Source addresses for load connections (empty: the system picks). */
  addresses: string[];
  progress: Progress;
  /** Starts another hub of the bench's kind (the storm restarts its own). */
  startBenchHub(overrides: Partial<BenchServerOptions>): Promise<BenchHub>;
}

/** One measured value. `null` when it could not be measured (e.g. CPU of an external server). */
export interface Metric {
  key: string;
  label: string;
  value: number | null;
  unit: string;
}

/** A measured curve: one value per bucket of `bucketMs` (e.g. the storm's resumes per 250 ms). */
export interface Series {
  key: string;
  label: string;
  bucketMs: number;
  values: number[];
}

/** A scenario's outcome: its numbers, and the failures that make the run fail. */
export interface ScenarioResult {
  /** `heartbeat` is measured by bench:compare only. */
  scenario: ScenarioName | 'heartbeat';
  metrics: Metric[];
  /** Curves over time, where the scenario draws any. */
  series?: Series[];
  /** Anything that went wrong (failed connects, drops, stalls, loss). Empty when clean. */
  failures: string[];
  notes: string[];
}

export type Scenario = (ctx: ScenarioContext) => Promise<ScenarioResult>;

/** Rounds to `digits` decimals. */
export function round(value: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** Formats failure reasons `{ reason: count }` as `reason ×count, ...`. */
export function reasons(errors: Record<string, number>): string {
  return Object.entries(errors)
    .map(([reason, n]) => `${reason} ×${n}`)
    .join(', ');
}
