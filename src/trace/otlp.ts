// OTLP/HTTP JSON export: spans are buffered (bounded, dropped on overflow) and posted in batches off the request path.
// Export never throws and never delays a response; a collector that is down costs dropped spans, counted.
import type { Redactor } from "../redact";
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
  /** The longest one post may take, and the longest flush() may take in all. */
  timeoutMs: number;
  /** Spans exported, dropped (buffer full, or left when a flush ran out of time) or failed (collector error), for metrics. */
  onResult?: (result: "exported" | "dropped" | "failed", count: number) => void;
  /** Scrubs secrets from span text (a client can send a key as its model name or request id), as logs are scrubbed. */
  redact?: Redactor;
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

/** The payload as JSON, its strings scrubbed when the text might hold a secret (a cheap test first, as for logs). */
function scrubbed(payload: unknown, redact: Redactor | undefined): string {
  const text = JSON.stringify(payload);
  if (redact === undefined || !redact.mightFind(text)) return text;
  return JSON.stringify(payload, (_key, value: unknown) => (typeof value === "string" ? redact(value) : value));
}

export function createOtlpSink(options: OtlpOptions): SpanSink {
  const url = `${options.endpoint.replace(/\/+$/, "")}/v1/traces`;
  const report = options.onResult ?? (() => undefined);
  let buffer: FinishedSpan[] = [];
  let timer: ReturnType<typeof setTimeout> | null = null;
  let sending: Promise<void> = Promise.resolve();
  // While the export loop runs it takes whatever is pushed meanwhile: a drain then joins it rather than queueing a step
  // behind it, which under steady traffic and a collector that never answers queued one step per span, without end.
  let running = false;
  /** The post in flight, so a flush that runs out of time can cut it off. */
  let inFlight: AbortController | null = null;

  async function post(batch: FinishedSpan[]): Promise<void> {
    const controller = new AbortController();
    inFlight = controller;
    const timeout = setTimeout(() => controller.abort(), options.timeoutMs);
    try {
      const response = await options.fetch(url, {
        method: "POST",
        headers: { ...options.headers, "content-type": "application/json" },
        body: scrubbed(encodeSpans(batch, options.serviceName), options.redact),
        signal: controller.signal,
      });
      await response.body?.cancel().catch(() => undefined);
      report(response.ok ? "exported" : "failed", batch.length);
    } catch {
      report("failed", batch.length);
    } finally {
      clearTimeout(timeout);
      inFlight = null;
    }
  }

  /** Sends everything buffered, one batch after another (never two posts at once, so ordering and load stay sane). */
  async function exportLoop(): Promise<void> {
    try {
      while (buffer.length > 0) {
        const batch = buffer.slice(0, options.batchSize);
        buffer = buffer.slice(batch.length);
        await post(batch);
      }
    } finally {
      // In the same turn as the last look at the buffer: a span pushed after it finds the loop stopped and starts one.
      running = false;
    }
  }

  function drain(): Promise<void> {
    if (timer) clearTimeout(timer);
    timer = null;
    if (running) return sending;
    running = true;
    sending = exportLoop();
    return sending;
  }

  /**
   * Sends what is buffered, within timeout_ms in all (shutdown must not wait a timeout per batch for a collector that
   * hangs): at the deadline the post in flight is cut off (its spans failed) and the spans still waiting are dropped.
   */
  async function flush(): Promise<void> {
    let outOfTime: () => void = () => undefined;
    const deadlinePassed = new Promise<void>((resolve) => (outOfTime = resolve));
    const deadline = setTimeout(() => {
      const left = buffer.length;
      buffer = [];
      if (left > 0) report("dropped", left);
      inFlight?.abort();
      outOfTime();
    }, options.timeoutMs);
    try {
      await Promise.race([drain(), deadlinePassed]);
    } finally {
      clearTimeout(deadline);
    }
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
    flush,
  };
}
