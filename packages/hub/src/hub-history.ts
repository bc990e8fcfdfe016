import type { Json } from '@tether/protocol';
import type { Publication, Store, TopicPosition } from '@tether/server';

/** One retained publication, as the history route returns it. */
export interface HistoryEntry {
  offset: number;
  /** Publication time, ms since the epoch. */
  time: number;
  data: Json;
}

/** The body of `GET /api/topics/:topic/history`. */
export interface TopicHistory {
  topic: string;
  /** The topic's current epoch. */
  epoch: string;
  /** Offset of its newest publication (0 if none). */
  offset: number;
  /**
   * With `epoch` and `offset` in the query: whether the publications are exactly those
   * after that position (false: another epoch, or trimmed; `publications` is then empty).
   */
  recovered?: boolean;
  /** Oldest first. */
  publications: HistoryEntry[];
}

/** Reads topic history for the HTTP API. */
export interface HistoryReader {
  /** The last `limit` publications, or up to `limit` after `from`. */
  read(topic: string, limit: number, from?: TopicPosition): Promise<TopicHistory>;
}

/** A {@link HistoryReader} over the hub's store. */
export function storeHistory(store: Store): HistoryReader {
  return {
    async read(topic, limit, from) {
      if (from === undefined) {
        const snapshot = await store.lastPublications(topic, limit);
        return {
          topic,
          epoch: snapshot.epoch,
          offset: snapshot.offset,
          publications: snapshot.publications.map(entry),
        };
      }
      const replay = await store.publicationsAfter(topic, from, limit);
      return {
        topic,
        epoch: replay.epoch,
        offset: replay.offset,
        recovered: replay.recovered,
        publications: replay.publications.map(entry),
      };
    },
  };
}

function entry(publication: Publication): HistoryEntry {
  let data: Json;
  try {
    // The server stores the JSON text of the data.
    data = JSON.parse(publication.data) as Json;
  } catch {
    data = publication.data;
  }
  return { offset: publication.offset, time: publication.time, data };
}
