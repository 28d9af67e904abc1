// A response body as a sequence of byte chunks, read the cheapest way the fetch that made it allows.
//
// Why: a streamed pass-through used to cross three web streams on Node (the upstream's Node stream turned into one,
// the SSE guard's, then a reader feeding the socket); reading the chunks straight cut a stream's CPU by about a tenth
// (bench/README.md). On Node the exchange hands over the body's own chunks (src/adapters/node-exchange.ts); the Node
// fetch built on it keeps them beside the Response it answers with, so an exchange over that fetch reads them too.
// Every other fetch's body is read through its web stream.

const sources = new WeakMap<Response, AsyncIterable<Uint8Array>>();

/**
 * Records where `response`'s body comes from. `chunks` must be the very source the Response's own body pulls from
 * (see chunkStream), so that whichever of the two is read, each chunk is seen once.
 */
export function keepChunkSource(response: Response, chunks: AsyncIterable<Uint8Array>): Response {
  sources.set(response, chunks);
  return response;
}

/** The body's chunks, for one reader: the fetch's own source when it kept one, else the web body's. */
export function bodyChunks(response: Response): AsyncIterable<Uint8Array> | null {
  const kept = sources.get(response);
  if (kept !== undefined) return kept;
  return response.body && readerChunks(response.body);
}

/**
 * An iterator whose return() acts at once. Ending a reader early must end the upstream call behind it, and an async
 * generator's own return() does not: it does nothing before the first read and waits for a pending one, which can
 * leave the upstream connection open until its next chunk, or for ever.
 */
export function iteratorOf<T>(next: () => Promise<IteratorResult<T>>, stop: () => Promise<void>): AsyncIterableIterator<T> {
  return {
    next,
    async return() {
      await stop();
      return { done: true, value: undefined };
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

/** A web stream's chunks; a reader that stops early cancels the stream, which ends the upstream call behind it. */
export function readerChunks(body: ReadableStream<Uint8Array>): AsyncIterableIterator<Uint8Array> {
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  const locked = () => (reader ??= body.getReader());
  return iteratorOf<Uint8Array>(
    async () => {
      const { done, value } = await locked().read();
      return done ? { done: true, value: undefined } : { done: false, value };
    },
    () => locked().cancel().catch(() => undefined), // settles a pending read, too
  );
}

/**
 * What `generated` yields, read from `source`; stopping early ends `source` first, at once, then `generated`.
 * `generated` must read `source` with next() alone (no for-await, whose exit would end it a second time).
 */
export function stoppable<T>(generated: AsyncGenerator<T>, source: AsyncIterator<unknown>): AsyncIterableIterator<T> {
  return iteratorOf(
    () => generated.next(),
    async () => {
      await source.return?.();
      // Queued behind a pending read, which ending the source has just settled.
      void generated.return(undefined).catch(() => undefined);
    },
  );
}

/**
 * Chunks as a web stream, for a Response. It pulls a chunk only when one is read (no read-ahead), so a stream made
 * over a source that is also kept with keepChunkSource never takes a chunk its other reader needed. Cancelling it
 * ends the source (at once when its return() acts at once, as readerChunks' and stoppable's do). A source that fails
 * errors the stream, or, given `breakOff` (src/util/break-off.ts), breaks the response off that way instead.
 */
export function chunkStream(chunks: AsyncIterable<Uint8Array>, breakOff?: () => void): ReadableStream<Uint8Array> {
  let iterator: AsyncIterator<Uint8Array> | undefined;
  let cancelled = false;
  const next = () => (iterator ??= chunks[Symbol.asyncIterator]());
  const read = breakOff === undefined ? () => next().next() : () => next().next().catch((): IteratorResult<Uint8Array> => {
    breakOff(); // the server cancels this stream as its response closes
    cancelled = true;
    return { done: true, value: undefined };
  });
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { done, value } = await read();
      if (cancelled) return; // a read that was pending when the stream was cancelled
      if (done) controller.close();
      else controller.enqueue(value);
    },
    async cancel(reason) {
      cancelled = true;
      await next().return?.(reason);
    },
  }, { highWaterMark: 0 });
}

/**
 * The chunks of `source`, with `settle` run when they end, fail or are given up (it may run twice, so it must not
 * mind): what a stream's call held while it ran (its hold on the caller's signal) is let go with its last chunk.
 */
export function settlingChunks(source: AsyncIterable<Uint8Array>, settle: () => void): AsyncIterableIterator<Uint8Array> {
  const chunks = source[Symbol.asyncIterator]();
  return iteratorOf(
    async () => {
      try {
        const read = await chunks.next();
        if (read.done) settle();
        return read;
      } catch (err) {
        settle();
        throw err;
      }
    },
    async () => {
      settle();
      await chunks.return?.();
    },
  );
}
