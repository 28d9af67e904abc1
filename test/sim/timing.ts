// The simulator's latency model: a delay per call from time-to-first-token, token rate and jitter; sleeps abort.
import type { LatencyModel } from "./options";

export function delayFor(latency: LatencyModel, tokens: number, random: () => number): number {
  const base = latency.ttft_ms + (latency.tokens_per_second > 0 ? (tokens / latency.tokens_per_second) * 1000 : 0);
  const jittered = base * (1 + latency.jitter * (2 * random() - 1));
  return latency.spread_ms > 0 ? jittered + random() * latency.spread_ms : jittered;
}

export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    // The listener goes when the sleep ends, or a long stream would pile up one per token on the request's signal.
    const onAbort = () => (clearTimeout(timer), reject(signal.reason));
    const timer = setTimeout(() => (signal.removeEventListener("abort", onAbort), resolve()), ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
