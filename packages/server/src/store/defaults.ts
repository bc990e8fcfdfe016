/**
 * Defaults of the stores. Change only with a reason written in docs/.
 */
export const STORE_DEFAULTS = {
  /** 1000 publications per topic: the default history (DESIGN.md). */
  historyMaxCount: 1000,
  /** 10 minutes per publication: the default history age (DESIGN.md). */
  historyMaxAgeMs: 10 * 60_000,
  /**
   * 10,000 unacked messages per session. Acked messages are trimmed at once,
   * so the log holds only what a disconnected or slow client has not
   * confirmed: 10,000 covers a full 120 s resume window at ~80 direct
   * messages per second, far above what direct (non-topic) traffic needs.
   */
  sessionMaxMessages: 10_000,
  /**
   * 1 MiB of unacked payload per session: at least 16 messages of the 64 KiB
   * maximum, and a bound on memory that still adds up to only 1 GiB with a
   * thousand clients disconnected at once, each with a full log. The count
   * bound rarely bites first for real payloads; this one does.
   */
  sessionMaxBytes: 1024 * 1024,
  /**
   * 1 hour: a topic whose history has aged out and that saw no publication
   * for this long is forgotten, so one-off topics do not accumulate. Its next
   * publication starts a new epoch (subscribers still at the old one get an
   * explicit `recovered: false`, never a silent gap).
   */
  topicIdleMs: 60 * 60_000,
  /**
   * 10 s between retention sweeps: expiry of sessions and age trimming of
   * history are precise to this much; correctness does not depend on it (an
   * expired session is refused by `checkResume` before the sweep deletes it).
   */
  sweepIntervalMs: 10_000,
  /**
   * 5 s of waiting for a lock held by another process before failing with
   * `STORE_BUSY`: several processes share one file, and WAL readers never
   * block, so only writers wait, each for one short batch. better-sqlite3 is
   * synchronous: the wait blocks this process's event loop, so the bound is
   * kept well under the heartbeat timeout (10 s). With one process per file
   * (the usual case) nothing ever waits.
   */
  busyTimeoutMs: 5_000,
  /**
   * `normal`: with WAL, a commit appends to the WAL file with write(2) before
   * it returns, so a killed process (SIGKILL, OOM kill, crash) loses nothing
   * committed; only an OS crash or power loss can roll back the last commits
   * (the file stays consistent). `full` fsyncs the WAL at every commit to
   * survive power loss too, at the price of one fsync per batch.
   */
  synchronous: 'normal',
  /**
   * 1000 operations per transaction at most: a burst is committed in several
   * transactions (one per event-loop turn) instead of holding the write lock
   * for one long transaction while other processes wait.
   */
  maxBatch: 1000,
  /**
   * 10 ms of operations per transaction at most: a burst of large reads (hundreds of
   * replay pages asked for in one turn) is split over several turns, so HTTP requests
   * and other sockets are served in between (a health check waits ~10 ms, not the whole
   * burst). Far above what a batch of typical small operations takes.
   */
  batchMaxMs: 10,
} as const;

/** `synchronous` setting of the SQLite store. */
export type SqliteSynchronous = 'normal' | 'full';
