/**
 * The publisher of the restart audit: publishes `{ n }` for n = 1..N in order, a window
 * of them in flight at once, and retries whatever got no `published` answer (the
 * connection dropped, the server restarted) from the first unanswered number once the
 * client is back. Publications carry no sequence number, so the server cannot dedupe a
 * retry by itself: the audit server's authorize hook refuses (FORBIDDEN) a number that is
 * already stored. Such a refusal counts as "stored" only for a number that was sent
 * before (its answer was lost); a first attempt refused was out of order and is sent
 * again. Whatever the classification, the subscribers' audit has the last word: a number
 * wrongly taken as stored would show up there as missing.
 */

/** The publish call and the wait for the client to be back. */
export interface PublishPort {
  /** Publishes `{ n }`; resolves on `published`, rejects with the error (`code`) otherwise. */
  publish(n: number): Promise<unknown>;
  /** Resolves once the client is connected again. */
  connected(): Promise<void>;
}

/** Hooks around each window of publications. */
export interface PublishHooks {
  /** Called right after the window `[first, last]` was sent (for fault injection). */
  sent?(first: number, last: number): Promise<void> | void;
  /** Called after every publication up to `last` was answered (for pacing). */
  confirmed?(last: number): Promise<void> | void;
}

type Outcome = 'ok' | 'stored' | { retry: unknown };

function codeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

export class RetryingPublisher {
  /** Numbers the server refused as already stored (their first answer was lost). */
  readonly alreadyStored: number[] = [];
  /** Numbers refused on their first attempt (out of order after a loss; sent again). */
  readonly refusedFirst: number[] = [];
  /** Windows sent again after a failure. */
  retries = 0;
  private readonly sentBefore = new Set<number>();

  constructor(
    private readonly port: PublishPort,
    private readonly window: number,
    private readonly maxRetries = 200,
  ) {}

  /** Publishes `from..to` in order; resolves when every one is answered or known stored. */
  async publishAll(from: number, to: number, hooks: PublishHooks = {}): Promise<void> {
    let next = from;
    while (next <= to) {
      const last = Math.min(to, next + this.window - 1);
      const pending: Promise<Outcome>[] = [];
      for (let n = next; n <= last; n += 1) pending.push(this.attempt(n));
      await hooks.sent?.(next, last);
      const outcomes = await Promise.all(pending);
      let confirmed = next - 1;
      let failure: unknown;
      for (const outcome of outcomes) {
        if (outcome === 'ok' || outcome === 'stored') confirmed += 1;
        else {
          failure = outcome.retry;
          break;
        }
      }
      for (let n = next; n <= last; n += 1) this.sentBefore.add(n);
      if (confirmed >= next) await hooks.confirmed?.(confirmed);
      next = confirmed + 1;
      if (failure !== undefined) {
        this.retries += 1;
        if (this.retries > this.maxRetries) throw failure;
        await this.port.connected();
      }
    }
  }

  private async attempt(n: number): Promise<Outcome> {
    try {
      await this.port.publish(n);
      return 'ok';
    } catch (err) {
      if (codeOf(err) !== 'FORBIDDEN') return { retry: err };
      if (!this.sentBefore.has(n)) {
        // Out of order (an earlier one of its window was lost on the way): the retry
        // from the first unanswered number sends it again, in order.
        this.refusedFirst.push(n);
        return { retry: err };
      }
      this.alreadyStored.push(n);
      return 'stored';
    }
  }
}
