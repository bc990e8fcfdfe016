/** What a test started, closed in reverse order at the end whatever happened. */
export class Resources {
  private readonly closers: Array<() => Promise<unknown> | unknown> = [];

  /** Registers `close` and returns `value`, so a start and its cleanup sit on one line. */
  add<T>(value: T, close: (value: T) => Promise<unknown> | unknown): T {
    this.closers.push(() => close(value));
    return value;
  }

  /** Closes everything, newest first; reports the first failure after trying all. */
  async closeAll(): Promise<void> {
    let failure: unknown;
    for (const close of this.closers.splice(0).reverse()) {
      try {
        await close();
      } catch (err) {
        failure ??= err;
      }
    }
    if (failure !== undefined) throw failure;
  }
}
