import { type Json, PROTOCOL_VERSION, type WelcomeFrame } from '@tether/protocol';
import type { ResolvedEndpointOptions } from './options.js';

/** What differs from one welcome to the next; the rest comes from the endpoint's options. */
export interface WelcomeParts {
  sid: string;
  token: string;
  cid: string;
  resumed: boolean;
  ack: number;
  time: number;
  reason: WelcomeFrame['reason'] | undefined;
  data: Record<string, Json> | undefined;
}

/**
 * Encodes an endpoint's `welcome` frames. The heartbeat, the limits and the resume
 * window are the same in every welcome of the endpoint, so their JSON is written once;
 * each welcome then costs a concatenation instead of a serialisation of nested objects
 * (one per connect). The text is what `encodeFrame` writes for the same frame, key for
 * key: `t`, `v`, `sid`, `token`, `cid`, `resumed`, `ack`, `hb`, `limits`,
 * `resumeWindow`, `time`, then `reason` and `data` when present. Numbers print as
 * JSON.stringify prints them (both use the number's shortest text; all are finite).
 */
export class WelcomeEncoder {
  private readonly shared: string;

  constructor(o: ResolvedEndpointOptions) {
    const constants: Pick<WelcomeFrame, 'hb' | 'limits' | 'resumeWindow'> = {
      hb: { interval: o.heartbeatIntervalMs, timeout: o.heartbeatTimeoutMs },
      limits: {
        maxMessageBytes: o.maxMessageBytes,
        rate: o.rateLimit ? o.rateLimit.perSecond : Number.MAX_SAFE_INTEGER,
        burst: o.rateLimit ? o.rateLimit.burst : Number.MAX_SAFE_INTEGER,
        maxBatch: o.maxBatch,
      },
      resumeWindow: o.resumeWindowMs,
    };
    // `"hb":…,"limits":…,"resumeWindow":…` as JSON.stringify writes them.
    this.shared = JSON.stringify(constants).slice(1, -1);
  }

  encode(parts: WelcomeParts): string {
    const { sid, token, cid, reason, data } = parts;
    const head =
      `{"t":"welcome","v":${PROTOCOL_VERSION},"sid":${JSON.stringify(sid)},` +
      `"token":${JSON.stringify(token)},"cid":${JSON.stringify(cid)},` +
      `"resumed":${parts.resumed},"ack":${parts.ack},${this.shared},"time":${parts.time}`;
    const why = reason === undefined ? '' : `,"reason":${JSON.stringify(reason)}`;
    return data === undefined ? `${head}${why}}` : `${head}${why},"data":${JSON.stringify(data)}}`;
  }
}
