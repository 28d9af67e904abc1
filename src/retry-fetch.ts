// Retries for pass-through requests, as a fetch wrapper: the same policy as SDK calls (src/retry.ts), per-attempt
// timeouts, and JSON answers read in full before the client sees a byte, so a cut-off or garbled body is retried too.
import { budgetExceeded } from "./budget";
import { ProxyError } from "./errors";
import { isRetryableStatus, retryAfterMs, withRetries, type FailureKind, type RetryPolicy } from "./retry";
import type { FetchLike } from "./upstream";
import { bodyBytes, bufferedResponse, isBuffered, JSON_MEDIA_TYPE } from "./util/buffered-response";
import { childSignal } from "./util/child-signal";

export interface RetryFetchOptions {
  policy: RetryPolicy;
  /** One attempt's time until headers (and, for JSON, until the whole body). */
  attemptMs: number;
  /**
   * The whole call's budget until its answer is in hand (headers, and for JSON the body): no attempt runs past it and
   * no backoff is started that would end after it.
   */
  budgetMs: number;
}

/** A response to retry; when retries run out it is what the client gets. */
class RetryableResponse extends Error {
  constructor(readonly response: Response) {
    super(`upstream answered ${response.status}`);
  }
}

class AttemptTimeout extends Error {}

/** An attempt cut short by what was left of the whole call's budget, not by its own limit. */
class BudgetSpent extends Error {}

class MalformedBody extends Error {}

function classify(err: unknown): FailureKind {
  if (err instanceof RetryableResponse) return { retryable: true, retryAfterMs: retryAfterMs(err.response.headers) };
  if ((err as Error)?.name === "AbortError") return { retryable: false };
  return { retryable: true }; // connection failure, attempt timeout, body cut off or not JSON
}

function isJson(response: Response): boolean {
  return JSON_MEDIA_TYPE.test(response.headers.get("content-type") ?? "");
}

const utf8 = new TextDecoder();

/** A fetch that keeps time limits of its own: what a pass-through needs, having none of its own (src/passthrough.ts). */
export type BoundedFetch = FetchLike & { readonly bounded: true };

export function retryingFetch(fetchImpl: FetchLike, options: RetryFetchOptions): BoundedFetch {
  const fetchWithRetries: FetchLike = async (input, init = {}) => {
    // A streamed request body cannot be sent twice; those get exactly one attempt.
    const replayable = init.body === undefined || init.body === null || typeof init.body === "string";
    const policy = replayable ? options.policy : { ...options.policy, maxRetries: 0 };
    const outer = init.signal ?? undefined;
    let previous: Response | null = null;
    const deadline = policy.now() + options.budgetMs;

    const attempt = async (): Promise<Response> => {
      // The failed answer of the last attempt is only kept in case it becomes the final one.
      void previous?.body?.cancel().catch(() => undefined);
      previous = null;
      // An attempt's limit is its own or what is left of the budget: the one timer the call needs, whichever ends first.
      const left = deadline - policy.now();
      const ms = Math.max(0, Math.min(options.attemptMs, left));
      const reason = left < options.attemptMs ? () => new BudgetSpent("request budget spent") : () => new AttemptTimeout("attempt timed out");
      const call = childSignal(outer, { ms, reason });
      let streaming = false;
      try {
        const response = await fetchImpl(input, { ...init, signal: call.signal });
        if (isRetryableStatus(response.status)) {
          previous = response;
          throw new RetryableResponse(response);
        }
        // Streams go out as they come (the caller's abort stays relayed, so it still ends them); only a JSON answer is
        // held until complete, which makes it checkable.
        if (!isJson(response) || response.status === 204) {
          streaming = true;
          return response;
        }
        const bytes = await bodyBytes(response);
        if (response.ok) {
          try {
            JSON.parse(utf8.decode(bytes));
          } catch {
            throw new MalformedBody("upstream answered 200 with a body that is not JSON");
          }
        }
        // The Node fetch already answers with a buffered Response; only another fetch's needs rebuilding.
        return isBuffered(response) ? response : bufferedResponse(bytes, { status: response.status, headers: response.headers }, response.url);
      } catch (err) {
        if (call.timedOut()) throw call.signal.reason;
        throw err;
      } finally {
        if (streaming) call.stopTimer();
        else call.release();
      }
    };

    try {
      return await withRetries(attempt, classify, policy, outer, deadline);
    } catch (err) {
      if (err instanceof RetryableResponse) return err.response;
      if (err instanceof AttemptTimeout) {
        throw new ProxyError(504, "generator upstream timed out", { type: "timeout_error", code: "generator_timeout" });
      }
      if (err instanceof BudgetSpent) throw budgetExceeded(options.budgetMs); // as a reranked request reports it
      if (err instanceof MalformedBody) {
        throw new ProxyError(502, "generator upstream returned a body that is not valid JSON", {
          type: "upstream_error",
          code: "generator_bad_response",
        });
      }
      throw err;
    }
  };
  return Object.assign(fetchWithRetries, { bounded: true as const });
}
