import type { Server as HttpServer, IncomingMessage } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import { type Disposer, OptionError } from '@tether/common';
import { requestPath } from './handshake.js';
import { rejectUpgrade } from './http-reject.js';

/** Handles an upgrade request routed to one path. */
export type UpgradeHandler = (request: IncomingMessage, socket: Duplex, head: Buffer) => void;

/** Any server that emits `upgrade`: node:http or node:https. */
export type AnyHttpServer = HttpServer | HttpsServer;

const routers = new WeakMap<AnyHttpServer, UpgradeRouter>();

/**
 * One `upgrade` listener per HTTP server, shared by every Tether endpoint on it, also
 * across separate TetherServer instances: endpoints are routed by exact path, so two of
 * them never both answer one request (the classic bug of two `ws` servers attached to
 * one HTTP server, where the second writes a 400 onto a socket the first upgraded).
 *
 * An unknown path gets HTTP 404, unless the application has its own `upgrade` listener
 * on the server (another WebSocket library): then unknown paths are left to it.
 */
export class UpgradeRouter {
  private readonly routes = new Map<string, UpgradeHandler>();
  private readonly listener = (request: IncomingMessage, socket: Duplex, head: Buffer): void =>
    this.route(request, socket, head);

  private constructor(private readonly server: AnyHttpServer) {}

  /** The router of `server`, created (and its listener attached) on first use. */
  static for(server: AnyHttpServer): UpgradeRouter {
    let router = routers.get(server);
    if (router === undefined) {
      router = new UpgradeRouter(server);
      routers.set(server, router);
    }
    return router;
  }

  /** Routes upgrades of `path` to `handler`; throws if the path is taken. */
  add(path: string, handler: UpgradeHandler): Disposer {
    if (this.routes.has(path)) {
      throw new OptionError(
        'path',
        `a Tether endpoint already serves "${path}" on this HTTP server`,
      );
    }
    if (this.routes.size === 0) this.server.on('upgrade', this.listener);
    this.routes.set(path, handler);
    return () => {
      if (this.routes.get(path) !== handler) return;
      this.routes.delete(path);
      if (this.routes.size === 0) {
        this.server.off('upgrade', this.listener);
        routers.delete(this.server);
      }
    };
  }

  has(path: string): boolean {
    return this.routes.has(path);
  }

  private route(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    // A client that resets mid-handshake must not crash the process with an unhandled 'error'.
    socket.on('error', destroySocket);
    const path = requestPath(request);
    const handler = this.routes.get(path);
    if (handler !== undefined) {
      handler(request, socket, head);
      return;
    }
    if (this.server.listenerCount('upgrade') > 1) return;
    rejectUpgrade(socket, 404, `no WebSocket endpoint at ${path.slice(0, 200)}`);
  }
}

/**
 * Shared by every upgrading socket (no closure each): Node calls it with the socket as
 * `this`. Removed once `ws` took the socket over (its own error listener stands in), so
 * an idle connection's socket holds one error listener, not an array of two.
 */
export function destroySocket(this: Duplex): void {
  this.destroy();
}
