import type { IncomingMessage } from 'node:http';
import type { Json } from '@tether/protocol';
import { ApiError } from './http-errors.js';

/**
 * Reads a JSON request body of at most `maxBytes`. Refuses, with an {@link ApiError}:
 * a declared or actual size over the limit (PAYLOAD_TOO_LARGE, without reading the
 * rest), a Content-Type other than JSON (UNSUPPORTED_MEDIA_TYPE), invalid UTF-8 or JSON
 * (BAD_JSON), an empty body (BAD_REQUEST).
 */
export async function readJsonBody(request: IncomingMessage, maxBytes: number): Promise<Json> {
  const type = request.headers['content-type'];
  if (type !== undefined && !/^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i.test(type)) {
    throw new ApiError(
      'UNSUPPORTED_MEDIA_TYPE',
      `expected Content-Type: application/json, got "${type.slice(0, 80)}"`,
    );
  }
  const declared = Number(request.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    throw tooLarge(maxBytes, declared);
  }
  const body = await new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = (): void => {
      request.off('data', onData);
      request.off('end', onEnd);
      request.off('error', onError);
      request.off('aborted', onError);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > maxBytes) {
        // Stop reading (the response says Connection: close); never buffer past the limit.
        cleanup();
        request.pause();
        reject(tooLarge(maxBytes, size));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(Buffer.concat(chunks, size));
    };
    const onError = (): void => {
      cleanup();
      reject(new ApiError('BAD_REQUEST', 'body: the request was cut off before its end'));
    };
    request.on('data', onData);
    request.on('end', onEnd);
    request.on('error', onError);
    request.on('aborted', onError);
  });
  if (body.length === 0)
    throw new ApiError('BAD_REQUEST', 'body: expected a JSON object, got nothing');
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    throw new ApiError('BAD_JSON', 'body is not valid UTF-8');
  }
  try {
    return JSON.parse(text) as Json;
  } catch (err) {
    throw new ApiError('BAD_JSON', `body is not valid JSON: ${(err as Error).message}`);
  }
}

function tooLarge(maxBytes: number, size: number): ApiError {
  return new ApiError(
    'PAYLOAD_TOO_LARGE',
    `body exceeds the limit of ${maxBytes} bytes (limits.maxBodyBytes)${size > maxBytes + 1 ? `: ${size} bytes` : ''}`,
    // The rest of the body is not read: the connection cannot be reused.
    { headers: { Connection: 'close' } },
  );
}

/**
 * Checks that `body` is an object with only `known` fields; returns it. The message
 * names the first unexpected field.
 */
export function bodyObject(body: Json, known: readonly string[]): Record<string, Json> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new ApiError('BAD_REQUEST', `body: expected a JSON object with ${known.join(', ')}`);
  }
  for (const key of Object.keys(body)) {
    if (!known.includes(key)) {
      throw new ApiError('BAD_REQUEST', `${key}: unknown field (known: ${known.join(', ')})`);
    }
  }
  return body as Record<string, Json>;
}
