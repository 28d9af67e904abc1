// Builds the app's observability from config: metrics registry, tracer with its OTLP sink, the clock. Injected
// replacements (tests, other runtimes) win over what the config would build.
import { secretsOf, type Config } from "../config";
import { createRedactor } from "../redact";
import { createVerdictMetrics, noopMetrics, type VerdictMetrics } from "../metrics/verdict";
import { createOtlpSink } from "../trace/otlp";
import { createTracer, noopTracer, type Tracer } from "../trace/tracer";
import type { FetchLike } from "../upstream";

export type Clock = () => number;

/** Epoch milliseconds with sub-millisecond resolution where the runtime gives it (spans need epoch time). */
export const systemClock: Clock =
  typeof performance !== "undefined" && performance.timeOrigin > 0 ? () => performance.timeOrigin + performance.now() : () => Date.now();

export interface Observability {
  metrics: VerdictMetrics;
  tracer: Tracer;
  clock: Clock;
}

export function createObservability(
  config: Config,
  fetchImpl: FetchLike,
  injected: { metrics?: VerdictMetrics | undefined; tracer?: Tracer | undefined; clock?: Clock | undefined },
): Observability {
  const clock = injected.clock ?? systemClock;
  const metrics = injected.metrics ?? (config.metrics.enabled ? createVerdictMetrics() : noopMetrics);
  const { tracing } = config;
  const tracer =
    injected.tracer ??
    (tracing.otlp_endpoint
      ? createTracer({
          clock,
          sampleRatio: tracing.sample_ratio,
          sink: createOtlpSink({
            endpoint: tracing.otlp_endpoint,
            headers: tracing.headers,
            serviceName: tracing.service_name,
            fetch: fetchImpl,
            batchSize: tracing.batch_size,
            maxQueue: tracing.max_queue,
            flushMs: tracing.flush_ms,
            timeoutMs: tracing.timeout_ms,
            onResult: (result, count) => metrics.spans(result, count),
            redact: createRedactor(secretsOf(config)),
          }),
        })
      : noopTracer);
  return { metrics, tracer, clock };
}
