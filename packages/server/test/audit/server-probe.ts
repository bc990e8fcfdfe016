/**
 * What the slow-consumer audit measures on the server side: the bytes a connection
 * holds for its client, i.e. the WebSocket's `bufferedAmount` (bytes `ws` could not hand
 * to the kernel yet) plus the frames the connection queued for its next flush, as the
 * public `info().bufferedBytes` reports them.
 */
import type { TetherConnection } from '../../src/index.js';

/** Buffered plus queued bytes of one server connection. */
export function bufferedBytes(connection: TetherConnection): number {
  return connection.info().bufferedBytes;
}
