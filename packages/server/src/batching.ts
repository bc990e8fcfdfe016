import { joinEncoded } from '@tether/protocol';

/** One outgoing WebSocket message and the number of frames in it. */
export interface Batch {
  message: string;
  frames: number;
}

/**
 * Groups encoded frames, in order, into as few messages as the peer accepts: a batch
 * ends at `maxBatch` frames or `maxChars` as counted by `measure` (by default characters,
 * a soft bound; UTF-8 bytes where a client stated the largest message it accepts), so
 * the peer's decoder takes it; a single larger frame still goes alone. Frames are not
 * re-encoded, so a publication encoded once keeps its bytes inside every batch.
 */
export function* batches(
  frames: readonly string[],
  maxBatch: number,
  maxChars: number,
  measure: (frame: string) => number = (frame) => frame.length,
): Generator<Batch> {
  let start = 0;
  while (start < frames.length) {
    let end = start + 1;
    let size = measure(frames[start] as string);
    while (end < frames.length && end - start < maxBatch) {
      size += measure(frames[end] as string) + 1;
      // A batch adds its brackets: `[` and `]`.
      if (size + 2 > maxChars) break;
      end += 1;
    }
    const slice = start === 0 && end === frames.length ? frames : frames.slice(start, end);
    yield { message: joinEncoded(slice), frames: end - start };
    start = end;
  }
}
