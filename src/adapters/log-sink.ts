// Where the Node logger's lines go: stdout and stderr, one write per stream per turn of the event loop.
//
// Why batched: under load many requests finish in the same turn, and a write per line (a system call each, and a
// synchronous one for files and pipes on Linux) was about 6% of a pass-through request's CPU. Lines wait at most until
// the end of the turn; those still pending when the process exits (process.exit, a fatal error) are written then.

export interface LogSink {
  out(line: string): void;
  err(line: string): void;
}

export type StreamName = "out" | "err";

/**
 * Lines are held and handed to `write` joined, newline after each, when `schedule` runs the flush. The returned
 * flush() writes whatever is pending at once.
 */
export function batchedSink(
  write: (stream: StreamName, text: string) => void,
  schedule: (flush: () => void) => void = setImmediate,
): LogSink & { flush(): void } {
  const pending: Record<StreamName, string[]> = { out: [], err: [] };
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    for (const stream of ["out", "err"] as const) {
      if (pending[stream].length === 0) continue;
      const text = `${pending[stream].join("\n")}\n`;
      pending[stream] = [];
      write(stream, text);
    }
  };
  const hold = (stream: StreamName) => (line: string) => {
    pending[stream].push(line);
    if (scheduled) return;
    scheduled = true;
    schedule(flush);
  };
  return { out: hold("out"), err: hold("err"), flush };
}

let stdio: (LogSink & { flush(): void }) | undefined;

/** The process's stdout and stderr, batched; one sink per process, flushed on exit. */
export function stdioSink(): LogSink {
  if (stdio) return stdio;
  stdio = batchedSink((stream, text) => (stream === "out" ? process.stdout : process.stderr).write(text));
  process.once("exit", stdio.flush);
  return stdio;
}
