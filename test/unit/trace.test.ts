// The tracer's parts: W3C traceparent handling, OTLP JSON encoding, the bounded batching sink.
import { describe, expect, it } from "vitest";
import { formatTraceparent, parseTraceparent, sampledByRatio } from "../../src/trace/context";
import { createOtlpSink, encodeSpans, unixNano } from "../../src/trace/otlp";
import { createTracer, type FinishedSpan } from "../../src/trace/tracer";

const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";

describe("traceparent", () => {
  it("reads a valid header and writes it back", () => {
    const header = `00-${TRACE}-00f067aa0ba902b7-01`;
    const context = parseTraceparent(header)!;
    expect(context).toEqual({ traceId: TRACE, spanId: "00f067aa0ba902b7", sampled: true });
    expect(formatTraceparent(context)).toBe(header);
    expect(parseTraceparent(`00-${TRACE}-00f067aa0ba902b7-00`)!.sampled).toBe(false);
  });

  it.each([
    ["upper-case hex", `00-${TRACE.toUpperCase()}-00f067aa0ba902b7-01`],
    ["an all-zero trace id", `00-${"0".repeat(32)}-00f067aa0ba902b7-01`],
    ["an all-zero span id", `00-${TRACE}-${"0".repeat(16)}-01`],
    ["version ff", `ff-${TRACE}-00f067aa0ba902b7-01`],
    ["extra fields in version 00", `00-${TRACE}-00f067aa0ba902b7-01-extra`],
    ["a short trace id", `00-${TRACE.slice(1)}-00f067aa0ba902b7-01`],
  ])("ignores %s", (_, header) => {
    expect(parseTraceparent(header)).toBeNull();
  });

  it("reads a future version by its version-00 prefix", () => {
    expect(parseTraceparent(`01-${TRACE}-00f067aa0ba902b7-01-more`)).toMatchObject({ traceId: TRACE });
  });

  it("samples by the trace id's low bits, deterministically", () => {
    expect(sampledByRatio(`${"1".repeat(24)}00000000`, 0.01)).toBe(true);
    expect(sampledByRatio(`${"1".repeat(24)}ffffffff`, 0.99)).toBe(false);
    expect(sampledByRatio(`${"1".repeat(24)}ffffffff`, 1)).toBe(true);
  });
});

describe("OTLP JSON encoding", () => {
  it("writes nanosecond times as decimal strings and typed attribute values", () => {
    expect(unixNano(1_700_000_000_123.5)).toBe("1700000000123500000");
    expect(unixNano(1_700_000_000_123)).toBe("1700000000123000000");
    const span: FinishedSpan = {
      name: "judge", kind: 3, traceId: TRACE, spanId: "00f067aa0ba902b7", parentSpanId: undefined,
      start: 1000, end: 1002.5, attributes: { s: "x", i: 3, d: 0.5, b: true }, error: "judge_unavailable",
    };
    const [encoded] = encodeSpans([span], "svc").resourceSpans[0]!.scopeSpans[0]!.spans;
    expect(encoded).toEqual({
      traceId: TRACE, spanId: "00f067aa0ba902b7", name: "judge", kind: 3,
      startTimeUnixNano: "1000000000", endTimeUnixNano: "1002500000",
      attributes: [
        { key: "s", value: { stringValue: "x" } },
        { key: "i", value: { intValue: "3" } },
        { key: "d", value: { doubleValue: 0.5 } },
        { key: "b", value: { boolValue: true } },
      ],
      status: { code: 2, message: "judge_unavailable" },
    });
  });
});

describe("the batching sink", () => {
  const span = (i: number): FinishedSpan => ({
    name: `s${i}`, kind: 1, traceId: TRACE, spanId: String(i).padStart(16, "0"), parentSpanId: undefined,
    start: 0, end: 1, attributes: {}, error: undefined,
  });

  function recordingSink(batchSize: number, maxQueue: number) {
    const posted: number[] = [];
    const results: [string, number][] = [];
    const sink = createOtlpSink({
      endpoint: "http://collector.test/", headers: { authorization: "Bearer c" }, serviceName: "svc",
      fetch: async (url, init) => {
        expect(url).toBe("http://collector.test/v1/traces");
        expect((init!.headers as Record<string, string>).authorization).toBe("Bearer c");
        posted.push(JSON.parse(String(init!.body)).resourceSpans[0].scopeSpans[0].spans.length);
        return new Response("{}");
      },
      batchSize, maxQueue, flushMs: 60_000, timeoutMs: 1000,
      onResult: (result, count) => results.push([result, count]),
    });
    return { sink, posted, results };
  }

  it("keeps at most max_queue spans waiting and drops (and reports) the rest", async () => {
    const { sink, posted, results } = recordingSink(10, 3);
    for (let i = 0; i < 5; i++) sink.push(span(i));
    expect(results).toEqual([["dropped", 1], ["dropped", 1]]);
    expect(posted).toEqual([]);
    await sink.flush();
    expect(posted).toEqual([3]);
    expect(results.at(-1)).toEqual(["exported", 3]);
  });

  it("sends a full batch at once, and the rest in batches no larger than batch_size", async () => {
    const { sink, posted } = recordingSink(2, 100);
    for (let i = 0; i < 5; i++) sink.push(span(i));
    await sink.flush();
    expect(posted.reduce((a, b) => a + b, 0)).toBe(5);
    expect(posted.every((n) => n <= 2)).toBe(true);
  });

  it("never throws, even when fetch throws synchronously", async () => {
    const results: string[] = [];
    const sink = createOtlpSink({
      endpoint: "http://collector.test", headers: {}, serviceName: "svc",
      fetch: () => {
        throw new Error("boom");
      },
      batchSize: 10, maxQueue: 10, flushMs: 0, timeoutMs: 100, onResult: (r) => results.push(r),
    });
    sink.push(span(1));
    await expect(sink.flush()).resolves.toBeUndefined();
    expect(results).toEqual(["failed"]);
  });

  it("exports only sampled spans, and children share the trace", async () => {
    const pushed: FinishedSpan[] = [];
    const tracer = createTracer({ sink: { push: (s) => pushed.push(s), flush: async () => undefined }, clock: () => 5, sampleRatio: 0 });
    const unsampled = tracer.startRequest("r", null);
    unsampled.child("c").end();
    unsampled.end();
    expect(pushed).toHaveLength(0);
    const sampled = tracer.startRequest("r", { traceId: TRACE, spanId: "00f067aa0ba902b7", sampled: true });
    const child = sampled.child("c");
    child.end();
    child.end();
    sampled.end();
    expect(pushed.map((s) => [s.name, s.traceId, s.parentSpanId])).toEqual([
      ["c", TRACE, sampled.context!.spanId],
      ["r", TRACE, "00f067aa0ba902b7"],
    ]);
  });
});
