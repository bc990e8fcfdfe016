import type { Disposer } from '@tether/common';
import type { MessageHandler, RequestHandler } from './connection-types.js';

/**
 * The application's handlers of one endpoint: request handlers by method, the handler of
 * requests no method handler takes (`onRequest`, the hub's backend), and the message
 * handler. Each registration returns its disposer.
 */
export class EndpointHandlers {
  private readonly byMethod = new Map<string, RequestHandler>();
  private anyRequest: RequestHandler | undefined;
  private message: MessageHandler | undefined;

  /** The handler of `method`: its own, else the `onRequest` one. */
  request(method: string): RequestHandler | undefined {
    return this.byMethod.get(method) ?? this.anyRequest;
  }

  /** The message handler, if one is set. */
  get messageHandler(): MessageHandler | undefined {
    return this.message;
  }

  handle(method: string, handler: RequestHandler): Disposer {
    if (typeof method !== 'string' || method.length === 0)
      throw new TypeError('handle(method): expected a non-empty string');
    if (typeof handler !== 'function')
      throw new TypeError(`handle("${method}"): expected a function`);
    this.byMethod.set(method, handler);
    return () => {
      if (this.byMethod.get(method) === handler) this.byMethod.delete(method);
    };
  }

  onRequest(handler: RequestHandler): Disposer {
    if (typeof handler !== 'function')
      throw new TypeError('onRequest(handler): expected a function');
    this.anyRequest = handler;
    return () => {
      if (this.anyRequest === handler) this.anyRequest = undefined;
    };
  }

  onMessage(handler: MessageHandler): Disposer {
    if (typeof handler !== 'function')
      throw new TypeError('onMessage(handler): expected a function');
    this.message = handler;
    return () => {
      if (this.message === handler) this.message = undefined;
    };
  }
}
