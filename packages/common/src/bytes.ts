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

const utf8 = new TextDecoder();

/** The UTF-8 text of a received WebSocket message (see {@link messageBytes} for the shapes). */
export function messageText(
  data: ArrayBuffer | ArrayBufferView | readonly ArrayBufferView[],
): string {
  if (!Array.isArray(data)) return utf8.decode(data as ArrayBuffer | ArrayBufferView);
  const decoder = new TextDecoder();
  let text = '';
  for (const part of data as readonly ArrayBufferView[])
    text += decoder.decode(part, { stream: true });
  return text + decoder.decode();
}
