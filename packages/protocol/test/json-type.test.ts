/**
 * `Json` is what applications pass to `send()`, `publish()` and `request()`. Objects with
 * optional fields are everyday TypeScript (`{ from: connection.user }` where `user` may be
 * undefined); JSON leaves such fields out, so the type must accept them. This file is also
 * a compile-time test: `tsc` (run by `npm test`) fails if the assignments below stop
 * compiling.
 */
import { describe, expect, it } from 'vitest';
import { decodeMessage, encodeFrame, type Json } from '../src/index.js';

// A type alias, as apps write for their messages (TypeScript never lets an `interface`
// meet an index signature, whatever `Json` says).
type Chat = {
  from?: string;
  text: string;
  replyTo?: number | undefined;
};

describe('the Json type', () => {
  it('accepts objects with optional and undefined fields; JSON leaves them out', () => {
    const user: string | undefined = [undefined, 'alice'][0];
    const chat: Chat = { text: 'hi' };
    const values: Json[] = [{ from: user, text: 'hi' }, chat, { nested: { maybe: user } }];
    const frame = encodeFrame({ t: 'msg', seq: 1, data: values });
    const [decoded] = decodeMessage(frame, 'client');
    expect(decoded).toMatchObject({
      ok: true,
      frame: { data: [{ text: 'hi' }, { text: 'hi' }, { nested: {} }] },
    });
  });
});
