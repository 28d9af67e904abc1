// OTLP/HTTP JSON export: spans are buffered (bounded, dropped on overflow) and posted in batches off the request path.
// Export never throws and never delays a response; a collector that is down costs dropped spans, counted.
import type { FetchLike } from "../upstream";
import type { AttributeValue, FinishedSpan, SpanSink } from "./tracer";

export interface OtlpOptions {
  /** Collector base URL; spans go to `{endpoint}/v1/traces`. */
  endpoint: string;
  /** Extra headers (a collector's auth); sent only to the collector. */
  headers: Record<string, string>;
  serviceName: string;
  fetch: FetchLike;
  batchSize: number;
  maxQueue: number;
  /** How long a partial batch may wait before it is sent. */
  flushMs: number;
  timeoutMs: number;
  /** Spans exported, dropped (buffer full) or failed (collector error), for metrics. */
  onResult?: (result: "exported" | "dropped" | "failed", count: number) => void;
}

/** OTLP JSON wants one typed value per attribute; 64-bit integers as decimal strings. */
function attributeValue(value: AttributeValue) {
  if (typeof value === "string") return { stringValue: value };
  if (typeof value === "boolean") return { boolValue: value };
  return Number.isInteger(value) ? { intValue: String(value) } : { doubleValue: value };
}

export function attributes(record: Record<string, AttributeValue>) {
  return Object.entries(record).map(([key, value]) => ({ key, value: attributeValue(value) }));
}

/** Epoch milliseconds (fractional) to nanoseconds as a decimal string: the value exceeds 2^53, so BigInt. */
export function unixNano(ms: number): string {
  const whole = Math.floor(ms);
  return (BigInt(whole) * 1_000_000n + BigInt(Math.round((ms - whole) * 1_000_000))).toString();
}

export function encodeSpans(spans: FinishedSpan[], serviceName: string) {
  return {
    resourceSpans: [
      {
        resource: { attributes: attributes({ "service.name": serviceName }) },
        scopeSpans: [
          {
            scope: { name: "verdict" },
            spans: spans.map((span) => ({
              traceId: span.traceId,
              spanId: span.spanId,
              ...(span.parentSpanId ? { parentSpanId: span.parentSpanId } : {}),
              name: span.name,
              kind: span.kind,
              startTimeUnixNano: unixNano(span.start),
              endTimeUnixNano: unixNano(Math.max(span.end, span.start)),
              attributes: attributes(span.attributes),
              // 1 = OK is left implicit (0, unset), as SDKs do; 2 = ERROR.
              status: span.error ? { code: 2, message: span.error } : { code: 0 },
            })),
          },
        ],
      },
    ],
  };
}

export function createOtlpSink(options: OtlpOptions): SpanSink {
  const url = `${options.endpoint.replace(/\/+$/, "")}/v1/traces`;
  const report = options.onResult ?? (() => undefined);
  let buffer: FinishedSpan[] = [];
  let timer: ReturnType<typeof setTimeout> | null = null;
  let sending: Promise<void> = Promise.resolve();

  async function post(batch: FinishedSpan[]): Promise<void> {
    const controller = new AbortController();
    const timeout = setTimeout(() => controller.abort(), options.timeoutMs);
    try {
      const response = await options.fetch(url, {
        method: "POST",
        headers: { ...options.headers, "content-type": "application/json" },
        body: JSON.stringify(encodeSpans(batch, options.serviceName)),
        signal: controller.signal,
      });
      await response.body?.cancel().catch(() => undefined);
      report(response.ok ? "exported" : "failed", batch.length);
    } catch {
      report("failed", batch.length);
    } finally {
      clearTimeout(timeout);
    }
  }

  /** Sends everything buffered, one batch after another (never two posts at once, so ordering and load stay sane). */
  function drain(): Promise<void> {
    if (timer) clearTimeout(timer);
    timer = null;
    sending = sending.then(async () => {
      while (buffer.length > 0) {
        const batch = buffer.slice(0, options.batchSize);
        buffer = buffer.slice(batch.length);
        await post(batch);
      }
    });
    return sending;
  }

  return {
    push(span) {
      if (buffer.length >= options.maxQueue) return report("dropped", 1);
      buffer.push(span);
      if (buffer.length >= options.batchSize) void drain();
      else if (!timer) {
        timer = setTimeout(() => void drain(), options.flushMs);
        // Node would otherwise stay alive for a pending flush; Workers' timers have no unref.
        (timer as { unref?: () => void }).unref?.();
      }
    },
    flush: drain,
  };
}
