// Where the Node logger's lines go: stdout and stderr, one write per run of lines per turn of the event loop.
//
// Why batched: under load many requests finish in the same turn, and a write per line (a system call each, and a
// synchronous one for files and pipes on Linux) was about 6% of a pass-through request's CPU. Lines wait at most until
// the end of the turn, in the order they were logged, across both streams (which are often merged: 2>&1, containers).
// Lines still pending when the process exits through Node's exit path (process.exit, an uncaught error, the end of
// the event loop) are written then, and anything logged after that is written at once. A process killed outright (a
// signal without a handler, a fatal V8 error such as running out of memory) loses at most the current turn's lines.

export interface LogSink {
  out(line: string): void;
  err(line: string): void;
}

export type StreamName = "out" | "err";

export interface BatchedSink extends LogSink {
  /** Writes whatever is pending now. */
  flush(): void;
  /** Flushes, then writes every later line at once: for the process's exit, after which no turn comes. */
  close(): void;
}

/**
 * Lines are held and handed to `write` when `schedule` runs the flush: consecutive lines of one stream joined into one
 * write, newline after each, streams taking turns in the order the lines came.
 */
export function batchedSink(
  write: (stream: StreamName, text: string) => void,
  schedule: (flush: () => void) => void = setImmediate,
): BatchedSink {
  let runs: { stream: StreamName; lines: string[] }[] = [];
  let scheduled = false;
  let closed = false;
  const flush = () => {
    scheduled = false;
    const pending = runs;
    runs = [];
    for (const run of pending) write(run.stream, `${run.lines.join("\n")}\n`);
  };
  const hold = (stream: StreamName) => (line: string) => {
    if (closed) return write(stream, `${line}\n`);
    const last = runs[runs.length - 1];
    if (last?.stream === stream) last.lines.push(line);
    else runs.push({ stream, lines: [line] });
    if (scheduled) return;
    scheduled = true;
    schedule(flush);
  };
  const close = () => {
    closed = true;
    flush();
  };
  return { out: hold("out"), err: hold("err"), flush, close };
}

let stdio: BatchedSink | undefined;

/**
 * The process's stdout and stderr, batched; one sink per process, closed on exit. A stream whose reader went away (a
 * log shipper that died, `| head`) fails its writes with EPIPE; unheard, that error would end the process and every
 * request in flight. Its lines are dropped from then on, and the other stream is told once.
 */
export function stdioSink(): LogSink {
  if (stdio) return stdio;
  const streams = { out: process.stdout, err: process.stderr };
  const broken = new Set<StreamName>();
  for (const name of ["out", "err"] as const) {
    streams[name].on("error", (err: NodeJS.ErrnoException) => {
      if (broken.has(name)) return;
      broken.add(name);
      const other = name === "out" ? "err" : "out";
      const line = { level: "error", time: new Date().toISOString(), event: "log_stream_closed", stream: name === "out" ? "stdout" : "stderr", code: err.code };
      if (!broken.has(other)) streams[other].write(`${JSON.stringify(line)}\n`);
    });
  }
  stdio = batchedSink((stream, text) => void (broken.has(stream) || streams[stream].write(text)));
  process.once("exit", stdio.close);
  return stdio;
}
