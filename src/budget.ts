// One time budget per client request (timeouts.request_ms): a signal that fires when it is spent, and its deadline.
import { ProxyError } from "./errors";
import { TIMER_MAX_MS } from "./observe/config";
import { awaitedLater } from "./util/awaited-later";
import { childSignal, type ChildSignal } from "./util/child-signal";

/**
 * Deadlines by signal. Work deep inside a request (the upstream's retry loop) only holds the request's AbortSignal;
 * looking the deadline up here lets it decide whether a backoff still fits, without threading a budget through
 * strategies and judge backends that know nothing about time.
 */
const deadlines = new WeakMap<AbortSignal, number>();

/** The deadline (epoch ms) of the request this signal belongs to, if it has one. */
export function deadlineOf(signal: AbortSignal | undefined): number | undefined {
  return signal ? deadlines.get(signal) : undefined;
}

/** Gives a signal derived from `parent` the parent's deadline. */
export function inheritDeadline(child: AbortSignal, parent: AbortSignal): void {
  const deadline = deadlines.get(parent);
  if (deadline !== undefined) deadlines.set(child, deadline);
}

/**
 * The reason given when a request's scope is closed after its answer (below). Made once: an
 * abort without a reason builds a new DOMException, stack and all, which was about 1% of a best-of-4 request's CPU.
 * Work that still listens sees an ordinary AbortError.
 */
export const SCOPE_CLOSED = new DOMException("the request's scope is closed", "AbortError");

export function budgetExceeded(ms: number): ProxyError {
  return new ProxyError(504, `the request did not finish within its time budget of ${ms} ms`, {
    type: "timeout_error",
    code: "request_timeout",
  });
}

/**
 * A request body still arriving when the request's budget runs out: the budget's 504, and the connection closed, since
 * the rest of the upload will never be read (on Node; Workers drop hop-by-hop headers).
 */
export function uploadTimedOut(ms: number): ProxyError {
  const failure = budgetExceeded(ms);
  return new ProxyError(failure.status, failure.message, { type: failure.type, code: failure.code, headers: { connection: "close" } });
}

/**
 * `reading` (a request body being read) within what is left of the request's budget, counted from its first byte:
 * a client that stops sending mid-body otherwise holds its request, its connection and a graceful shutdown for as
 * long as it likes (Node's requestTimeout only bounds the headers).
 */
export function readWithinBudget<T>(reading: Promise<T>, arrived: number, budgetMs: number): Promise<T> {
  let timer!: ReturnType<typeof setTimeout>; // set at once: a promise's executor runs synchronously
  const late = new Promise<never>((_, reject) => {
    // Whole ms, and one more: a timer rounds a fraction down, and `arrived` is a wall-clock reading (whole ms) of a time
    // the request's own clock knows to the fraction, so the 504 could otherwise come a moment before its budget ended.
    // Capped: a budget of the longest timer plus that 1 ms would be a delay no timer holds, which fires at once.
    const leftMs = Math.max(0, Math.ceil(budgetMs - (Date.now() - arrived)) + 1);
    timer = setTimeout(() => reject(uploadTimedOut(budgetMs)), Math.min(leftMs, TIMER_MAX_MS));
  });
  reading.catch(() => undefined); // the read that lost the race ends with the connection; nobody waits for it
  return Promise.race([reading, late]).finally(() => clearTimeout(timer));
}

/**
 * The request's scope, as the work inside it holds it: its signal, and a way to end it early for every part of the
 * request at once (src/pipeline.ts does when the request is lost). Whoever made the scope closes it.
 */
export type RequestScope = Pick<ChildSignal, "signal" | "abort">;

/**
 * Runs `work` in a scope whose signal aborts when the client leaves or `ms` have passed. The answer is raced against
 * the budget, so the client hears back on time even if some inner step were slow to honour its signal; when the work
 * ends, by then or otherwise, the scope is closed: work left behind is aborted and its eventual rejection swallowed.
 * `wholeMs` is the budget the error names, when `ms` is only what was left of it.
 */
export async function withinBudget<T>(
  ms: number,
  clientSignal: AbortSignal,
  work: (scope: RequestScope) => Promise<T>,
  { now = Date.now, wholeMs = ms }: { now?: () => number; wholeMs?: number } = {},
): Promise<T> {
  // A plain child of the client's signal, not an AbortSignal.any composite: as cheap, and released below. The work runs
  // in it directly, not in a scope of its own beneath it: each AbortController, and closing it, costs a few µs.
  const scope = childSignal(clientSignal);
  const signal = scope.signal;
  deadlines.set(signal, now() + ms);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = awaitedLater(
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const error = budgetExceeded(wholeMs);
        scope.abort(error);
        reject(error);
      }, ms);
    }),
  );
  const running = awaitedLater(work(scope));
  try {
    return await Promise.race([running, expired]);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    // Nothing of this request may outlive it.
    scope.abort(SCOPE_CLOSED);
    scope.release();
  }
}
