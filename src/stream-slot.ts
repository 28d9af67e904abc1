// A pass-through stream keeps its place in the generator's queue until its last byte, not only until its headers:
// `generator.concurrency` bounds what the upstream is busy with, and a model streaming tokens is busy until the end.
import { DeadlinePassed, ExchangeTimeout, isWhole, type Exchange, type ExchangeReply } from "./exchange";
import { settlingChunks } from "./util/body-chunks";
import { unwatchAbort, watchAbort } from "./util/abort-watch";
import type { WaitLimit } from "./util/call-slots";
import { withFields } from "./util/with-fields";

/** An upstream's admission (Upstream.admit): runs `call` in a slot, held until the promise it returns settles. */
export type Admit = <T>(call: () => Promise<T>, signal?: AbortSignal, wait?: WaitLimit) => Promise<T>;

const deadlinePassed = () => new DeadlinePassed("the request's deadline passed while it waited for an upstream slot");

/**
 * `exchange` run in a slot from `admit`. A whole answer (JSON, no body) gives its slot back as it comes; a stream
 * is handed on at its headers and keeps the slot until it ends, is stopped by its reader, or the client leaves. A
 * request's `deadline` bounds its wait for the slot, and then its call (timeoutMs cut to what is left).
 */
export function holdingSlotUntilBodyEnds(admit: Admit, exchange: Exchange): Exchange {
  return (request) =>
    new Promise<ExchangeReply>((answer, fail) => {
      const { deadline } = request;
      const wait = deadline === undefined ? undefined : { ms: Math.max(0, deadline - Date.now()), reason: deadlinePassed };
      admit(() => {
        const left = deadline === undefined ? Infinity : deadline - Date.now();
        const cut = request.timeoutMs !== undefined && left < request.timeoutMs;
        const call = cut ? exchange(withFields(request, { timeoutMs: Math.max(0, left) })) : exchange(request);
        return call.then(
          (reply) => {
            const body = reply.body;
            if (body === null || isWhole(body)) return answer(reply);
            // The slot's call settles when the stream is over; the reply goes out now.
            return new Promise<void>((ended) => answer(withFields(reply, { body: endingWith(body, ended, request.signal) })));
          },
          // Cut to the deadline, the call's timeout is the deadline's.
          (err: unknown) => {
            throw cut && err instanceof ExchangeTimeout ? deadlinePassed() : err;
          },
        );
      }, request.signal, wait).catch(fail);
    });
}

/** `body`'s chunks, calling `ended` once when they run out, fail, are stopped early, or `signal` aborts. */
function endingWith(body: AsyncIterable<Uint8Array>, ended: () => void, signal: AbortSignal | undefined): AsyncIterableIterator<Uint8Array> {
  let open = true;
  const end = () => {
    if (!open) return;
    open = false;
    if (signal) unwatchAbort(signal, end);
    ended();
  };
  if (signal?.aborted) end();
  else if (signal) watchAbort(signal, end);
  return settlingChunks(body, end);
}
