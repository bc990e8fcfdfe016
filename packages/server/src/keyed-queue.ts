/**
 * Runs tasks one at a time per key, in the order they came: a task starts once the one
 * before it with the same key settled (fulfilled or not). Keys with nothing queued are
 * forgotten, so the map holds only keys with work in progress.
 */
export class KeyedQueue {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const attempt = previous.then(task, task);
    this.tails.set(key, attempt);
    const release = (): void => {
      if (this.tails.get(key) === attempt) this.tails.delete(key);
    };
    attempt.then(release, release);
    return attempt;
  }
}
