/**
 * Bytes of a received WebSocket message as `ws` hands it over: one buffer, an
 * ArrayBuffer, or the fragments of a message (`Buffer[]`).
 */
export function messageBytes(
  data: ArrayBuffer | ArrayBufferView | readonly ArrayBufferView[],
): number {
  if (Array.isArray(data)) {
    let sum = 0;
    for (const part of data as readonly ArrayBufferView[]) sum += part.byteLength;
    return sum;
  }
  return (data as ArrayBuffer | ArrayBufferView).byteLength;
}
