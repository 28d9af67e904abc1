// A tiny tracer: spans with ids, parent, times and attributes, handed to an exporter when they end.
// No @opentelemetry dependency: the SDK is large and Node-leaning; we need spans, W3C propagation and OTLP JSON only.
import { formatTraceparent, randomHex, sampledByRatio, type SpanContext } from "./context";

export type AttributeValue = string | number | boolean;

/** OTLP span kinds (as numbers, which is how OTLP JSON writes enums). */
export const SpanKind = { internal: 1, server: 2, client: 3 } as const;

export interface FinishedSpan {
  name: string;
  kind: number;
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  /** Epoch milliseconds, fractional. */
  start: number;
  end: number;
  attributes: Record<string, AttributeValue>;
  error: string | undefined;
}

export interface Span {
  /** Null only for the no-op span (tracing off). */
  readonly context: SpanContext | null;
  set(key: string, value: AttributeValue): void;
  /** Marks the span failed (OTLP status ERROR); the message is a short code, never content. */
  fail(message: string): void;
  end(): void;
  child(name: string, kind?: number): Span;
}

export interface SpanSink {
  push(span: FinishedSpan): void;
  flush(): Promise<void>;
}

export interface Tracer {
  readonly enabled: boolean;
  /**
   * The request's span: child of the client's context when it sent one, else the root of a new trace. `startedAt`
   * (the clock's milliseconds) when the request began before its span could be made.
   */
  startRequest(name: string, parent: SpanContext | null, startedAt?: number): Span;
  /** Sends whatever is buffered (Workers: pass it to waitUntil; tests: await it). */
  flush(): Promise<void>;
}

export const NOOP_SPAN: Span = {
  context: null,
  set: () => undefined,
  fail: () => undefined,
  end: () => undefined,
  child: () => NOOP_SPAN,
};

export const noopTracer: Tracer = { enabled: false, startRequest: () => NOOP_SPAN, flush: () => Promise.resolve() };

export function traceparentOf(span: Span): string | null {
  return span.context ? formatTraceparent(span.context) : null;
}

export interface TracerOptions {
  sink: SpanSink;
  /** Epoch milliseconds. */
  clock: () => number;
  /** Share of new traces recorded; a client's own sampled flag is always followed. */
  sampleRatio: number;
}

export function createTracer({ sink, clock, sampleRatio }: TracerOptions): Tracer {
  function start(name: string, kind: number, traceId: string, parentSpanId: string | undefined, sampled: boolean, begin = clock()): Span {
    const context: SpanContext = { traceId, spanId: randomHex(8), sampled };
    const attributes: Record<string, AttributeValue> = {};
    let error: string | undefined;
    let ended = false;
    return {
      context,
      set: (key, value) => void (attributes[key] = value),
      fail: (message) => void (error = message),
      end() {
        // An unsampled span still has ids to propagate, but is never exported.
        if (ended) return;
        ended = true;
        if (sampled) sink.push({ name, kind, traceId, spanId: context.spanId, parentSpanId, start: begin, end: clock(), attributes, error });
      },
      child: (childName, childKind = SpanKind.internal) => start(childName, childKind, traceId, context.spanId, sampled),
    };
  }

  return {
    enabled: true,
    startRequest(name, parent, startedAt) {
      if (parent) return start(name, SpanKind.server, parent.traceId, parent.spanId, parent.sampled, startedAt);
      const traceId = randomHex(16);
      return start(name, SpanKind.server, traceId, undefined, sampledByRatio(traceId, sampleRatio), startedAt);
    },
    flush: () => sink.flush(),
  };
}
