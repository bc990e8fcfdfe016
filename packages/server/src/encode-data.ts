import type { Json } from '@tether/protocol';

/**
 * Encodes application data once, as it will appear inside a frame; a value that is not
 * JSON (undefined, a function, a BigInt, a cycle) becomes the error `fail` builds.
 */
export function encodeData(data: Json, fail: (message: string) => Error): string {
  let encoded: string | undefined;
  try {
    encoded = JSON.stringify(data);
  } catch (err) {
    // JSON.parse takes any depth, JSON.stringify recurses: thousands of nested arrays
    // that arrived fine cannot be encoded again.
    if (err instanceof RangeError) throw fail('data is nested too deeply to encode');
    throw fail(`data is not JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (encoded === undefined) throw fail('data is not JSON (undefined or a function; use null)');
  return encoded;
}
