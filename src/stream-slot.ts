// A pass-through stream keeps its place in the generator's queue until its last byte, not only until its headers:
// `generator.concurrency` bounds what the upstream is busy with, and a model streaming tokens is busy until the end.
import { isWhole, type Exchange, type ExchangeReply } from "./exchange";
import { iteratorOf } from "./util/body-chunks";
import { unwatchAbort, watchAbort } from "./util/abort-watch";

/** An upstream's admission (Upstream.admit): runs `call` in a slot, held until the promise it returns settles. */
export type Admit = <T>(call: () => Promise<T>, signal?: AbortSignal) => Promise<T>;

/**
 * `exchange` run in a slot from `admit`. A whole answer (JSON, no body) gives its slot back as it comes; a stream
 * is handed on at its headers and keeps the slot until it ends, is stopped by its reader, or the client leaves.
 */
export function holdingSlotUntilBodyEnds(admit: Admit, exchange: Exchange): Exchange {
  return (request) =>
    new Promise<ExchangeReply>((answer, fail) => {
      admit(
        () =>
          exchange(request).then((reply) => {
            const body = reply.body;
            if (body === null || isWhole(body)) return answer(reply);
            // The slot's call settles when the stream is over; the reply goes out now.
            return new Promise<void>((ended) => answer({ ...reply, body: endingWith(body, ended, request.signal) }));
          }),
        request.signal,
      ).catch(fail);
    });
}

/** `body`'s chunks, calling `ended` once when they run out, fail, are stopped early, or `signal` aborts. */
function endingWith(body: AsyncIterable<Uint8Array>, ended: () => void, signal: AbortSignal | undefined): AsyncIterableIterator<Uint8Array> {
  const source = body[Symbol.asyncIterator]();
  let open = true;
  const end = () => {
    if (!open) return;
    open = false;
    if (signal) unwatchAbort(signal, end);
    ended();
  };
  if (signal?.aborted) end();
  else if (signal) watchAbort(signal, end);
  return iteratorOf(
    () =>
      source.next().then(
        (step) => {
          if (step.done) end();
          return step;
        },
        (err: unknown) => {
          end();
          throw err;
        },
      ),
    async () => {
      end();
      await source.return?.();
    },
  );
}
