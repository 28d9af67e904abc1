// Wraps an upstream's fetch so every HTTP attempt is observed, the openai SDK's own retries included (the SDK marks
// them with x-stainless-retry-count). Works wherever fetch does; nothing is patched globally.
import type { FetchLike } from "../upstream";
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
  /** The per-attempt timeout: an abort that comes this late was the SDK's timer, not the client leaving. */
  timeoutMs: number;
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
      const status = init?.signal?.aborted ? (elapsed >= timeoutMs * 0.99 ? "timeout" : "aborted") : "network_error";
      metrics.upstreamAttempt(upstream, status, elapsed / 1000, retry);
      throw err;
    }
  } as FetchLike;
}
