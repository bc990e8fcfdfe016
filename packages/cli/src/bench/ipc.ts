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

/**
 * The parent's side: calls commands of one child. Every way the child can go away (it
 * exits, it closes the channel, a write hits a closed pipe: EPIPE, ERR_IPC_CHANNEL_CLOSED)
 * rejects the calls it concerns with an {@link IpcError}; nothing is left to an `error`
 * event (which, unhandled, would end the whole tool with a stack trace).
 */
export class IpcPeer {
  private nextId = 1;
  private readonly pending = new Map<
    number,
    { resolve: (value: never) => void; reject: (err: Error) => void; timer: NodeJS.Timeout }
  >();
  /** Why calls cannot go through any more (the child exited or the channel closed). */
  private gone: string | undefined;

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
    child.on('disconnect', () => this.lost(`${this.name}: IPC channel closed`));
    child.on('exit', (code, signal) => this.lost(`${this.name} exited (${signal ?? code})`));
    // Sends report their errors through their callbacks; this catches the rest (e.g. a
    // failed disconnect) so that none becomes an uncaught exception.
    child.on('error', (err: Error & { code?: string }) =>
      this.lost(`${this.name}: ${err.code ?? err.message}`),
    );
  }

  /** Why the child cannot be called any more; undefined while it can. */
  get closedReason(): string | undefined {
    return this.gone;
  }

  /** Calls `cmd`; rejects after `timeoutMs` without an answer, or when the child is gone. */
  call<T>(cmd: string, args: Payload = {}, timeoutMs = 60_000): Promise<T> {
    if (this.gone !== undefined) return Promise.reject(new IpcError(this.gone));
    const id = this.nextId;
    this.nextId += 1;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new IpcError(`${this.name}: no answer to ${cmd} within ${timeoutMs} ms`));
      }, timeoutMs);
      timer.unref();
      this.pending.set(id, { resolve, reject, timer });
      const failed = (err: Error & { code?: string }): void => {
        const entry = this.pending.get(id);
        if (entry === undefined) return;
        this.pending.delete(id);
        clearTimeout(entry.timer);
        entry.reject(new IpcError(`${this.name}: ${cmd} not sent (${err.code ?? err.message})`));
      };
      try {
        // With a callback, a closed channel (ERR_IPC_CHANNEL_CLOSED) or a broken pipe
        // (EPIPE: the child died after `connected` was last true) comes back here.
        this.child.send({ id, cmd, args } satisfies IpcRequest, (err) => {
          if (err !== null && err !== undefined) failed(err);
        });
      } catch (err) {
        failed(err instanceof Error ? err : new Error(String(err)));
      }
    });
  }

  private lost(reason: string): void {
    this.gone ??= reason;
    for (const [id, entry] of this.pending) {
      clearTimeout(entry.timer);
      entry.reject(new IpcError(reason));
      this.pending.delete(id);
    }
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
  // The parent may be gone by the time an answer is ready: the answer is dropped (the
  // `disconnect` handler ends this side), never an uncaught EPIPE.
  const answer = (response: IpcResponse): void => {
    if (process.connected !== true) return;
    try {
      send(response, undefined, undefined, () => {});
    } catch {
      // The channel closed between the check and the send: nobody is listening.
    }
  };
  process.on('message', (message: IpcRequest) => {
    const handler = Object.hasOwn(handlers, message.cmd) ? handlers[message.cmd] : undefined;
    if (handler === undefined) {
      answer({ id: message.id, ok: false, error: `unknown command ${message.cmd}` });
      return;
    }
    Promise.resolve()
      .then(() => (handler as (args: unknown) => unknown)(message.args))
      .then(
        (result) => answer({ id: message.id, ok: true, result: result ?? null }),
        (err: unknown) =>
          answer({
            id: message.id,
            ok: false,
            error: err instanceof Error ? err.message : String(err),
          }),
      );
  });
  process.on('disconnect', onDisconnect);
}
