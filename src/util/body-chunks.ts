// A response body as a sequence of byte chunks, read the cheapest way the fetch that made it allows.
//
// Why: a streamed pass-through used to cross three web streams on Node (the upstream's Node stream turned into one,
// the SSE guard's, then a reader feeding the socket); reading the chunks straight cut a stream's CPU by about a tenth
// (bench/README.md). The Node fetch keeps the body's own chunks beside the Response it answers with, and the
// pass-through reads those; every other fetch's body is read through its web stream, as before.

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

/** A web stream's chunks; a reader that stops early cancels the stream, which ends the upstream call behind it. */
export async function* readerChunks(body: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = body.getReader();
  let finished = false;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      yield value;
    }
    finished = true;
  } finally {
    if (!finished) await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
}

/**
 * Chunks as a web stream, for a Response. It pulls a chunk only when one is read (no read-ahead), so a stream made
 * over a source that is also kept with keepChunkSource never takes a chunk its other reader needed. Cancelling it
 * ends the source.
 */
export function chunkStream(chunks: AsyncIterable<Uint8Array>): ReadableStream<Uint8Array> {
  let iterator: AsyncIterator<Uint8Array> | undefined;
  const next = () => (iterator ??= chunks[Symbol.asyncIterator]());
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { done, value } = await next().next();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    async cancel(reason) {
      await next().return?.(reason);
    },
  }, { highWaterMark: 0 });
}
