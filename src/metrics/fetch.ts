// Wraps an upstream's fetch and exchange so every HTTP attempt is observed, the openai SDK's own retries included (the
// SDK marks them with x-stainless-retry-count). Works wherever fetch does; nothing is patched globally.
import { SCOPE_CLOSED } from "../budget";
import { ProxyError } from "../errors";
import { ExchangeTimeout, type Exchange } from "../exchange";
import type { FetchLike } from "../upstream";
import { called } from "../util/called";
import { isTimeLimitReason } from "../util/child-signal";
import type { UpstreamRole, VerdictMetrics } from "./verdict";

function retryCount(headers: HeadersInit | undefined): number {
  if (!headers) return 0;
  const value = headers instanceof Headers
    ? headers.get("x-stainless-retry-count")
    : Array.isArray(headers)
      ? headers.find(([name]) => name.toLowerCase() === "x-stainless-retry-count")?.[1]
      : (headers as Record<string, string>)["x-stainless-retry-count"] ?? (headers as Record<string, string>)["X-Stainless-Retry-Count"];
  return value ? Number(value) || 0 : 0;
}

export interface ObservedFetchOptions {
  upstream: UpstreamRole;
  fetch: FetchLike;
  metrics: VerdictMetrics;
  /** Milliseconds (any origin). */
  clock: () => number;
  /** The per-attempt timeout: a reasonless abort that comes this late was the openai SDK's timer (see abortStatus). */
  timeoutMs: number;
}

/**
 * Why an attempt was cut off, from its signal's reason: `timeout` when time ran out (the request's budget, a per-call
 * or per-attempt limit), an upstream error; `aborted` for the rest (the client leaving, verdict closing a finished
 * request's scope or stopping work it no longer needs), which is not. The openai SDK aborts its own fetch without a
 * reason whether its timer fired or its caller cancelled: its caller's signal tells when it is handed over
 * (withCallerSignal below); otherwise only the time the attempt ran can tell.
 */
function abortStatus(reason: unknown, elapsedMs: number, timeoutMs: number): "timeout" | "aborted" {
  if (isTimeLimitReason(reason)) return "timeout";
  if (reason instanceof ProxyError) return reason.type === "timeout_error" ? "timeout" : "aborted";
  const name = (reason as { name?: unknown } | null)?.name;
  if (name === "TimeoutError") return "timeout"; // AbortSignal.timeout()
  const bare = name === "AbortError" && reason !== SCOPE_CLOSED;
  return bare && elapsedMs >= timeoutMs * 0.99 ? "timeout" : "aborted";
}

/**
 * The openai SDK hands fetch a signal of its own, which it aborts without a reason whether its timer fired or its
 * caller cancelled. An SDK call given `fetchOptions: withCallerSignal(signal)` hands over its caller's signal too,
 * whose reason tells them apart (the request's budget running out, the client leaving). The fetch below ignores the
 * extra field, as fetch does any field it does not know.
 */
const CALLER_SIGNAL = "verdictCallerSignal";

/** Fetch options with none of the fields the SDK sets itself (its `fetchOptions` type refuses those). */
type ExtraFetchOptions = Omit<RequestInit, "body" | "headers" | "signal" | "method">;

export function withCallerSignal(signal: AbortSignal | undefined): ExtraFetchOptions {
  return (signal ? { [CALLER_SIGNAL]: signal } : {}) as ExtraFetchOptions;
}

/** The signal whose abort explains a failed attempt: the caller's when it was aborted, else the one fetch was given. */
function explainingSignal(init: RequestInit | undefined): AbortSignal | null | undefined {
  const caller = (init as Record<string, unknown> | undefined)?.[CALLER_SIGNAL] as AbortSignal | undefined;
  return caller?.aborted ? caller : init?.signal;
}

/** How an attempt that failed is counted. */
function failureStatus(err: unknown, signal: AbortSignal | null | undefined, elapsedMs: number, timeoutMs: number): string {
  if (err instanceof ExchangeTimeout) return "timeout";
  return signal?.aborted ? abortStatus(signal.reason, elapsedMs, timeoutMs) : "network_error";
}

export function observedFetch({ upstream, fetch, metrics, clock, timeoutMs }: ObservedFetchOptions): FetchLike {
  if (!metrics.enabled) return fetch;
  return async function observed(input, init) {
    const start = clock();
    const retry = retryCount(init?.headers) > 0;
    try {
      const response = await fetch(input, init);
      metrics.upstreamAttempt(upstream, String(response.status), (clock() - start) / 1000, retry);
      return response;
    } catch (err) {
      const elapsed = clock() - start;
      metrics.upstreamAttempt(upstream, failureStatus(err, explainingSignal(init), elapsed, timeoutMs), elapsed / 1000, retry);
      throw err;
    }
  } as FetchLike;
}

/** The same for exchanges (src/exchange.ts): verdict's own calls, whose retries are not marked. */
export function observedExchange({ upstream, exchange, metrics, clock, timeoutMs }: Omit<ObservedFetchOptions, "fetch"> & { exchange: Exchange }): Exchange {
  if (!metrics.enabled) return exchange;
  // With then rather than async, for what the call holds while it waits (src/util/called.ts says why).
  return (request) => {
    const start = clock();
    return called(exchange, request).then(
      (reply) => {
        metrics.upstreamAttempt(upstream, String(reply.status), (clock() - start) / 1000, false);
        return reply;
      },
      (err: unknown) => {
        const elapsed = clock() - start;
        metrics.upstreamAttempt(upstream, failureStatus(err, request.signal, elapsed, timeoutMs), elapsed / 1000, false);
        throw err;
      },
    );
  };
}
