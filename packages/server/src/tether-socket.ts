import { WebSocket } from 'ws';

/**
 * The `ws` socket class the endpoints use (ws's documented `WebSocket` server option).
 *
 * When `ws` itself rejects an incoming message (over `maxPayload`: 1009; invalid UTF-8:
 * 1007; a WebSocket protocol violation: 1002) it calls `close(code)` without a reason,
 * before any of our code runs. The hook lets the connection send an error frame and a
 * `goodbye` first and put a reason in the close frame, so the client learns what
 * happened instead of seeing a bare code.
 */
export class TetherSocket extends WebSocket {
  private implicitClose: ((code: number) => string) | undefined = undefined;

  /**
   * Sets the hook called once, for a close that `ws` starts on its own; it returns the
   * close reason. `undefined` removes it (a close the server starts has its own reason).
   */
  onImplicitClose(hook: ((code: number) => string) | undefined): void {
    this.implicitClose = hook;
  }

  override close(code?: number, data?: string | Buffer): void {
    const hook = this.implicitClose;
    if (
      hook !== undefined &&
      data === undefined &&
      code !== undefined &&
      this.readyState === WebSocket.OPEN
    ) {
      this.implicitClose = undefined;
      super.close(code, hook(code));
      return;
    }
    super.close(code, data);
  }
}
