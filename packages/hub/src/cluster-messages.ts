/**
 * The IPC messages between the primary of `tether serve --workers N` and its workers
 * (Node `cluster`). A request for `/metrics`, `/stats`, `/healthz` or `/readyz` lands on
 * one worker; that worker asks the primary (`ask`), the primary collects every worker's
 * local answer (`collect` / `local`) and answers for the whole (`answer`).
 */

/** Which operations endpoint, with the query `/stats` takes. */
export interface OpsQuery {
  what: 'metrics' | 'stats' | 'ready' | 'health';
  connections?: number;
  since?: number;
}

/** Worker to primary. */
export type WorkerMessage =
  | { tether: 'listening'; url: string }
  | { tether: 'ask'; id: number; query: OpsQuery }
  | { tether: 'local'; id: number; body: unknown };

/** Primary to worker. */
export type PrimaryMessage =
  | { tether: 'collect'; id: number; query: OpsQuery }
  | {
      tether: 'answer';
      id: number;
      status: number;
      /** Prometheus text for `metrics`, else a JSON value. */
      body: unknown;
    }
  | { tether: 'drain' };

/** The environment variable that carries a worker's slot (1..N) to the forked process. */
export const WORKER_SLOT_ENV = 'TETHER_WORKER_SLOT';

/** What each worker says about itself in every local answer. */
export interface WorkerIdentity {
  slot: number;
  pid: number;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/** Whether `message` is one of ours (other IPC users, prom-client's own, are left alone). */
export function isWorkerMessage(message: unknown): message is WorkerMessage {
  return (
    isObject(message) &&
    (message.tether === 'listening' || message.tether === 'ask' || message.tether === 'local')
  );
}

/** Whether `message` is one of ours, from the primary. */
export function isPrimaryMessage(message: unknown): message is PrimaryMessage {
  return (
    isObject(message) &&
    (message.tether === 'collect' || message.tether === 'answer' || message.tether === 'drain')
  );
}
