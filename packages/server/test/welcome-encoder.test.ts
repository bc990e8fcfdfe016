import { decodeMessage, encodeFrame, PROTOCOL_VERSION, type WelcomeFrame } from '@tether/protocol';
import { describe, expect, it } from 'vitest';
import { type EndpointOptions, resolveEndpointOptions } from '../src/options.js';
import { WelcomeEncoder, type WelcomeParts } from '../src/welcome-encoder.js';

/** The welcome as the router built it before the encoder: one object, serialised whole. */
function frameOf(options: EndpointOptions, parts: WelcomeParts): WelcomeFrame {
  const o = resolveEndpointOptions(options);
  const frame: WelcomeFrame = {
    t: 'welcome',
    v: PROTOCOL_VERSION,
    sid: parts.sid,
    token: parts.token,
    cid: parts.cid,
    resumed: parts.resumed,
    ack: parts.ack,
    hb: { interval: o.heartbeatIntervalMs, timeout: o.heartbeatTimeoutMs },
    limits: {
      maxMessageBytes: o.maxMessageBytes,
      rate: o.rateLimit ? o.rateLimit.perSecond : Number.MAX_SAFE_INTEGER,
      burst: o.rateLimit ? o.rateLimit.burst : Number.MAX_SAFE_INTEGER,
      maxBatch: o.maxBatch,
    },
    resumeWindow: o.resumeWindowMs,
    time: parts.time,
  };
  if (parts.reason !== undefined) frame.reason = parts.reason;
  if (parts.data !== undefined) frame.data = parts.data;
  return frame;
}

const base: WelcomeParts = {
  sid: 'AbCdEf.0123456789abcdef',
  token: 'tok_-0123456789abcdefghijklmnopqrstuv',
  cid: 'c-12345678',
  resumed: false,
  ack: 0,
  time: 1_765_000_000_123,
  reason: undefined,
  data: undefined,
};

describe('welcome encoder', () => {
  const cases: [string, EndpointOptions, WelcomeParts][] = [
    ['defaults, a new session', {}, base],
    [
      'a rate limit, a resumed session with an ack',
      {
        rateLimit: { perSecond: 50, burst: 120 },
        heartbeatIntervalMs: 5_000,
        heartbeatTimeoutMs: 2_500,
        resumeWindowMs: 60_000,
        maxMessageBytes: 4_096,
        maxBatch: 10,
      },
      { ...base, resumed: true, ack: 41 },
    ],
    ['a failed resume', {}, { ...base, reason: 'gap' }],
    [
      'welcome data with strings that need escaping',
      {},
      { ...base, reason: 'expired', data: { plan: 'pro "beta"\n', n: 1.5, list: [null, true] } },
    ],
    ['odd ids (escaped, never spliced raw)', {}, { ...base, sid: 'a"b\\c', cid: 'é\u2028' }],
  ];
  for (const [name, options, parts] of cases) {
    it(`writes the same text as encoding the whole frame: ${name}`, () => {
      const encoder = new WelcomeEncoder(resolveEndpointOptions(options));
      const text = encoder.encode(parts);
      const frame = frameOf(options, parts);
      expect(text).toBe(encodeFrame(frame));
      const [decoded] = decodeMessage(text, 'server');
      expect(decoded).toEqual({ ok: true, frame });
    });
  }

  it('takes the options of its endpoint, not of another', () => {
    const a = new WelcomeEncoder(resolveEndpointOptions({ heartbeatIntervalMs: 5_000 }));
    const b = new WelcomeEncoder(resolveEndpointOptions({ heartbeatIntervalMs: 7_000 }));
    expect(a.encode(base)).toContain('"hb":{"interval":5000,');
    expect(b.encode(base)).toContain('"hb":{"interval":7000,');
  });
});
