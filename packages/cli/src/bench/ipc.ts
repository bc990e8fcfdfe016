import type { ChildProcess } from 'node:child_process';

/**
 * Request/response over a forked child's IPC channel: the bench's hub child and its
 * client workers both answer `{ id, cmd, args }` with `{ id, ok, result | error }`.
 * Values must be structured-clone JSON (numbers, strings, plain objects, arrays).
 */

/** IPC payloads: structured-clone JSON; each side knows the shape of its commands. */
type Payload = unknown;

interface IpcRequest {
  id: number;
  cmd: string;
  args: Payload;
}

interface IpcResponse {
  id: number;
  ok: boolean;
  result?: Payload;
  error?: string;
}

/** Raised when a child answers with an error, exits, or does not answer in time. */
export class IpcError extends Error {
  override name = 'IpcError';
}

/** The parent's side: calls commands of one child. */
export class IpcPeer {
  private nextId = 1;
  private readonly pending = new Map<
    number,
    { resolve: (value: never) => void; reject: (err: Error) => void; timer: NodeJS.Timeout }
  >();
  private exited: string | undefined;

  constructor(
    readonly child: ChildProcess,
    readonly name: string,
  ) {
    child.on('message', (message: IpcResponse) => {
      const entry = this.pending.get(message.id);
      if (entry === undefined) return;
      this.pending.delete(message.id);
      clearTimeout(entry.timer);
      if (message.ok) entry.resolve(message.result as never);
      else entry.reject(new IpcError(`${this.name}: ${message.error ?? 'failed'}`));
    });
    child.on('exit', (code, signal) => {
      this.exited = `${this.name} exited (${signal ?? code})`;
      for (const [id, entry] of this.pending) {
        clearTimeout(entry.timer);
        entry.reject(new IpcError(this.exited));
        this.pending.delete(id);
      }
    });
  }

  /** Calls `cmd`; rejects after `timeoutMs` without an answer. */
  call<T>(cmd: string, args: Payload = {}, timeoutMs = 60_000): Promise<T> {
    if (this.exited !== undefined) return Promise.reject(new IpcError(this.exited));
    const id = this.nextId;
    this.nextId += 1;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new IpcError(`${this.name}: no answer to ${cmd} within ${timeoutMs} ms`));
      }, timeoutMs);
      timer.unref();
      this.pending.set(id, { resolve, reject, timer });
      this.child.send({ id, cmd, args } satisfies IpcRequest);
    });
  }
}

/** A child's command handlers; each declares the type of its own `args`. */
export type IpcHandlers = Record<string, (args: never) => unknown>;

/**
 * The child's side: answers the parent's calls until the channel closes (the parent
 * died or disconnected), then calls `onDisconnect` (default: exit).
 */
export function serveIpc(
  handlers: IpcHandlers,
  onDisconnect: () => void = () => process.exit(0),
): void {
  const send = process.send?.bind(process);
  if (send === undefined) throw new Error('not started with an IPC channel (use fork)');
  process.on('message', (message: IpcRequest) => {
    const handler = Object.hasOwn(handlers, message.cmd) ? handlers[message.cmd] : undefined;
    if (handler === undefined) {
      send({ id: message.id, ok: false, error: `unknown command ${message.cmd}` });
      return;
    }
    Promise.resolve()
      .then(() => (handler as (args: unknown) => unknown)(message.args))
      .then(
        (result) => send({ id: message.id, ok: true, result: result ?? null }),
        (err: unknown) =>
          send({
            id: message.id,
            ok: false,
            error: err instanceof Error ? err.message : String(err),
          }),
      );
  });
  process.on('disconnect', onDisconnect);
}
