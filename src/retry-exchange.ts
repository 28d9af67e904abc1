// Retries for pass-through requests, as an exchange wrapper (src/exchange.ts): the same policy as SDK calls
// (src/retry.ts), per-attempt time limits, and JSON answers read in full before the client sees a byte, so a cut-off
// or garbled body is retried too.
import { budgetExceeded } from "./budget";
import { afterRetries, isRetryableStatus, NO_CLIENT_RETRY, ProxyError } from "./errors";
import { DeadlinePassed, discard, ExchangeTimeout, headerLookup, isWhole, type Exchange, type ExchangeReply } from "./exchange";
import { retryAfterMs, wasRetried, withRetries, type FailureKind, type RetryPolicy } from "./retry";
import { JSON_MEDIA_TYPE } from "./util/buffered-response";
import { withFields } from "./util/with-fields";

export interface RetryExchangeOptions {
  policy: RetryPolicy;
  /** One attempt's time until headers (and, for JSON, until the whole body). */
  attemptMs: number;
  /**
   * The whole call's budget until its answer is in hand (headers, and for JSON the body): no attempt runs past it and
   * no backoff is started that would end after it.
   */
  budgetMs: number;
}

/** A reply to retry; when retries run out it is what the client gets. */
class RetryableReply extends Error {
  constructor(readonly reply: ExchangeReply) {
    super(`upstream answered ${reply.status}`);
  }
}

class AttemptTimeout extends Error {}

/** An attempt cut short by what was left of the whole call's budget, not by its own limit. */
class BudgetSpent extends Error {}

class MalformedBody extends Error {}

function classify(err: unknown): FailureKind {
  if (err instanceof RetryableReply) return { retryable: true, retryAfterMs: retryAfterMs(headerLookup(err.reply.headers)) };
  if ((err as Error)?.name === "AbortError") return { retryable: false };
  if (err instanceof ProxyError) return { retryable: false }; // verdict's own refusal (queue full): retrying adds load
  return { retryable: true }; // connection failure, attempt timeout, body cut off or not JSON
}

const utf8 = new TextDecoder();

/** An exchange that keeps time limits of its own: what a pass-through needs, having none of its own (src/passthrough.ts). */
export type BoundedExchange = Exchange & { readonly bounded: true };

export function retryingExchange(exchange: Exchange, options: RetryExchangeOptions): BoundedExchange {
  const exchangeWithRetries: Exchange = async (request) => {
    // A streamed request body cannot be sent twice; those get exactly one attempt. Text and bytes can.
    const sent = request.body;
    const replayable = sent === undefined || sent === null || typeof sent === "string" || sent instanceof Uint8Array;
    const policy = replayable ? options.policy : { ...options.policy, maxRetries: 0 };
    let previous: ExchangeReply | null = null;
    // From the client request's first byte, as a reranked request's budget: a slow upload spends it too.
    const deadline = (request.arrivedAt ?? policy.now()) + options.budgetMs;

    const attempt = async (): Promise<ExchangeReply> => {
      // The failed answer of the last attempt is only kept in case it becomes the final one.
      if (previous !== null) discard(previous);
      previous = null;
      // An attempt's limit is its own or what is left of the budget, whichever ends first.
      const left = deadline - policy.now();
      // Spent before the call (a slow upload): nothing goes upstream.
      if (left <= 0) throw new BudgetSpent("request budget spent");
      const budgetFirst = left < options.attemptMs;
      let reply: ExchangeReply;
      try {
        reply = await exchange(withFields(request, { timeoutMs: Math.max(0, budgetFirst ? left : options.attemptMs), deadline }));
      } catch (err) {
        // The deadline also bounds the wait for a slot in the generator's queue (src/stream-slot.ts).
        if (err instanceof ExchangeTimeout) throw budgetFirst || err instanceof DeadlinePassed ? new BudgetSpent("request budget spent") : new AttemptTimeout("attempt timed out");
        throw err;
      }
      if (isRetryableStatus(reply.status)) {
        previous = reply;
        throw new RetryableReply(reply);
      }
      // Streams go out as they come; only a JSON answer is whole, which makes it checkable. A download (GET) is the
      // file as stored, whatever it is labelled (JSON Lines sent as application/json): the client's to read.
      const body = reply.body;
      const download = request.method === "GET" || request.method === "HEAD";
      if (!download && reply.status >= 200 && reply.status < 300 && isWhole(body) && JSON_MEDIA_TYPE.test(reply.headers["content-type"] ?? "")) {
        try {
          JSON.parse(utf8.decode(body));
        } catch {
          throw new MalformedBody("upstream answered 200 with a body that is not JSON");
        }
      }
      return reply;
    };

    try {
      return await withRetries(attempt, classify, policy, request.signal, deadline);
    } catch (err) {
      // The upstream's last failed answer, as it came; one retried here already tells the client's SDK not to again.
      if (err instanceof RetryableReply) {
        const { reply } = err;
        return wasRetried(err) ? withFields(reply, { headers: withFields(reply.headers, NO_CLIENT_RETRY) }) : reply;
      }
      const retried = wasRetried(err);
      if (err instanceof AttemptTimeout) {
        throw afterRetries(new ProxyError(504, "generator upstream timed out", { type: "timeout_error", code: "generator_timeout" }), retried);
      }
      if (err instanceof BudgetSpent) throw budgetExceeded(options.budgetMs); // as a reranked request reports it
      if (err instanceof MalformedBody) {
        throw afterRetries(new ProxyError(502, "generator upstream returned a body that is not valid JSON", { type: "upstream_error", code: "generator_bad_response" }), retried);
      }
      throw err;
    }
  };
  return Object.assign(exchangeWithRetries, { bounded: true as const });
}
