/**
 * Appending a publication in one script call, with its frame stored alongside: the frame
 * holds the position the script assigns, so it is encoded once with markers the script
 * replaces (the encoder is pure), and the append stays one atomic step across processes.
 */
import { randomBytes } from 'node:crypto';
import type { Publication, PublicationEncoder, TopicAppend } from '@tether/server/store';
import type { ScriptClient } from './redis-connection.js';
import { occurrences, offsetMarker, publicationOf, type Reply } from './replies.js';

/** What one append writes: where, what (and how its frame is encoded), the topic's history bounds. */
export interface AppendRequest extends TopicAppend {
  prefix: string;
  /** The epoch a topic without history starts with. */
  candidate: string;
  maxCount: number;
  maxAgeMs: number;
}

type FrameArgs = [mode: string, frame: string, epochMark: string, offsetMark: string];

/** Appends `req.data` to the topic; with `req.encode`, its frame is stored too. */
export function appendPublication(redis: ScriptClient, req: AppendRequest): Promise<Publication> {
  const { time, data, encode } = req;
  if (encode === undefined) return append(redis, req, ['none', '', '', '']);
  const epochMark = `~${randomBytes(12).toString('base64url')}`;
  const offsetMark = offsetMarker();
  const template = encode({ epoch: epochMark, offset: offsetMark, time, data });
  const quotedEpoch = JSON.stringify(epochMark);
  const offsetText = String(offsetMark);
  const epochs = occurrences(template, quotedEpoch);
  const offs = occurrences(template, offsetText);
  if (epochs === 0 && offs === 0) return append(redis, req, ['fixed', template, '', '']);
  if (epochs <= 1 && offs === 1 && !data.includes(offsetText)) {
    return append(redis, req, ['template', template, quotedEpoch, offsetText]);
  }
  // An encoder the markers cannot describe: encode for the position the head says and
  // let the script refuse if another append took it first.
  return appendExpecting(redis, req, encode);
}

function append(redis: ScriptClient, req: AppendRequest, frame: FrameArgs): Promise<Publication> {
  return appendRaw(redis, req, frame, ['', 0]).then((r) => publicationOf(r, req.time, req.data));
}

function appendRaw(
  redis: ScriptClient,
  req: AppendRequest,
  frame: FrameArgs,
  expected: [epoch: string, offset: number],
): Promise<Reply[]> {
  const { prefix, topic, data, time, candidate, maxCount, maxAgeMs } = req;
  return redis
    .appendPublication(
      prefix,
      topic,
      data,
      time,
      candidate,
      maxCount,
      maxAgeMs,
      ...frame,
      ...expected,
    )
    .then((r) => r as Reply[]);
}

async function appendExpecting(
  redis: ScriptClient,
  req: AppendRequest,
  encode: PublicationEncoder,
): Promise<Publication> {
  const { time, data } = req;
  const [headEpoch, headOffset] = (await redis.topicHead(
    req.prefix,
    req.topic,
    req.candidate,
    time,
  )) as [string, number];
  let epoch = String(headEpoch);
  let offset = Number(headOffset) + 1;
  for (;;) {
    const frame = encode({ epoch, offset, time, data });
    const r = await appendRaw(redis, req, ['expect', frame, '', ''], [epoch, offset]);
    if (Number(r[0]) !== 0) return publicationOf(r, time, data);
    // Another append took the position first: { 0, epoch, head } is where it is now.
    epoch = String(r[1]);
    offset = Number(r[2]) + 1;
  }
}
