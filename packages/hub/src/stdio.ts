/**
 * Writing to stdout and stderr when the reader may be gone. With stdout a closed pipe (a
 * log shipper that died, `tether serve | head`), every write fails with EPIPE: Node
 * reports it as an `error` event, which unhandled crashed the hub at its first line,
 * and pino's own stdout writer retried it forever on exit, blocking the event loop so
 * that SIGTERM was never handled. Here a stream that failed once is written no more.
 */

/** A stream the CLI writes lines to. */
interface OutStream {
  write(chunk: string): boolean;
  on(event: 'error', listener: (err: Error) => void): unknown;
}

const gone = new WeakSet<OutStream>();
const guarded = new WeakSet<OutStream>();

/** Marks `stream` gone at its first error (EPIPE and the like), once per stream. */
function guard(stream: OutStream): void {
  if (guarded.has(stream)) return;
  guarded.add(stream);
  stream.on('error', () => {
    gone.add(stream);
  });
}

/**
 * Writes `text` to `stream` unless the stream failed before; never throws and never
 * leaves an `error` event unhandled. Returns whether it wrote.
 */
export function writeSafely(stream: OutStream, text: string): boolean {
  guard(stream);
  if (gone.has(stream)) return false;
  try {
    stream.write(text);
    return true;
  } catch {
    gone.add(stream);
    return false;
  }
}

/** Line writers for the CLI's own messages (stdout and stderr of this process). */
export function processLines(): { stdout: (line: string) => void; stderr: (line: string) => void } {
  return {
    stdout: (line) => {
      writeSafely(process.stdout, `${line}\n`);
    },
    stderr: (line) => {
      writeSafely(process.stderr, `${line}\n`);
    },
  };
}

/**
 * A pino destination that writes JSON lines to this process's stdout, and drops them
 * once stdout is gone (pino's default writer would retry a failed write on exit).
 */
export const stdoutLogDestination = {
  write(line: string): void {
    writeSafely(process.stdout, line);
  },
};
