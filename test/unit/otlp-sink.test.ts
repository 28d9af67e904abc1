// The OTLP sink against a collector that takes the connection and never answers: what it may cost while traffic keeps
// coming (a bounded amount of pending work, not one more queued step per span), and how long a shutdown flush may take.
import { createHook } from "node:async_hooks";
import { describe, expect, it } from "vitest";
import { createOtlpSink } from "../../src/trace/otlp";
import type { FinishedSpan } from "../../src/trace/tracer";

const span = (i: number): FinishedSpan => ({
  name: `s${i}`, kind: 1, traceId: "4bf92f3577b34da6a3ce929d0e0e4736", spanId: String(i).padStart(16, "0"), parentSpanId: undefined,
  start: 0, end: 1, attributes: {}, error: undefined,
});

/** A collector that accepts every post and answers none until `answerAll`; like a real fetch, an abort ends a post. */
function hangingCollector() {
  const waiting: (() => void)[] = [];
  let inFlight = 0;
  let mostInFlight = 0;
  const posted: number[] = [];
  const fetch = (_url: string | URL | Request, init?: RequestInit): Promise<Response> =>
    new Promise((resolve, reject) => {
      posted.push(JSON.parse(String(init!.body)).resourceSpans[0].scopeSpans[0].spans.length);
      mostInFlight = Math.max(mostInFlight, ++inFlight);
      const settle = (answer: () => void) => () => (inFlight--, answer());
      init?.signal?.addEventListener("abort", settle(() => reject(new DOMException("aborted", "AbortError"))), { once: true });
      waiting.push(settle(() => resolve(new Response("{}"))));
    });
  return {
    fetch,
    posted,
    mostInFlight: () => mostInFlight,
    answerAll: () => waiting.splice(0).forEach((answer) => answer()),
  };
}

/** A sink posting to `collector`, with the spans of each result tallied in `results`. */
function tallyingSink(collector: ReturnType<typeof hangingCollector>, settings: { batchSize: number; maxQueue: number; flushMs: number; timeoutMs: number }) {
  const results: Record<string, number> = {};
  const sink = createOtlpSink({
    endpoint: "http://collector.test", headers: {}, serviceName: "svc", fetch: collector.fetch, ...settings,
    onResult: (result, count) => void (results[result] = (results[result] ?? 0) + count),
  });
  return { sink, results };
}

/** Promises created while `work` runs (synchronously): each is memory held until it settles. */
function promisesCreatedBy(work: () => void): number {
  let created = 0;
  const hook = createHook({ init: (_id, type) => void (type === "PROMISE" && created++) }).enable();
  try {
    work();
  } finally {
    hook.disable();
  }
  return created;
}

describe("the OTLP sink with a collector that never answers", () => {
  it("does not pile up pending work per span under steady traffic, and exports everything once the collector answers", async () => {
    const collector = hangingCollector();
    const { sink, results } = tallyingSink(collector, { batchSize: 10, maxQueue: 100_000, flushMs: 60_000, timeoutMs: 60_000 });
    // 50 turns of 100 spans each while the first export hangs: steady traffic with every batch's worth waiting.
    let created = 0;
    let pushed = 0;
    for (let turn = 0; turn < 50; turn++) {
      created += promisesCreatedBy(() => {
        for (let i = 0; i < 100; i++) sink.push(span(pushed++));
      });
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    // One export running holds a few promises; a step chained per span held one per span (about 5000 here).
    expect(created).toBeLessThan(50);
    expect(collector.mostInFlight()).toBe(1);

    // The collector comes back: every span waiting goes out, none is left behind, never two posts at once.
    const answering = setInterval(collector.answerAll, 1);
    try {
      await sink.flush();
    } finally {
      clearInterval(answering);
    }
    expect(results).toEqual({ exported: pushed });
    expect(collector.posted.every((n) => n <= 10)).toBe(true);
    expect(collector.mostInFlight()).toBe(1);
  });

  it("a span pushed while an export runs is still sent, without another push to start it", async () => {
    const collector = hangingCollector();
    const exported: number[] = [];
    const sink = createOtlpSink({
      endpoint: "http://collector.test", headers: {}, serviceName: "svc", fetch: collector.fetch,
      batchSize: 2, maxQueue: 100, flushMs: 5, timeoutMs: 60_000,
      onResult: (result, count) => void (result === "exported" && exported.push(count)),
    });
    sink.push(span(1));
    sink.push(span(2)); // a full batch: its export starts and hangs
    sink.push(span(3)); // waits behind it
    await new Promise((resolve) => setTimeout(resolve, 20));
    collector.answerAll();
    await new Promise((resolve) => setTimeout(resolve, 20));
    collector.answerAll();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(exported.reduce((a, b) => a + b, 0)).toBe(3);
  });

  it("ends a shutdown flush within timeout_ms in all, counting the spans it could not send as dropped", async () => {
    const collector = hangingCollector();
    const { sink, results } = tallyingSink(collector, { batchSize: 2, maxQueue: 100, flushMs: 60_000, timeoutMs: 100 });
    for (let i = 0; i < 10; i++) sink.push(span(i));
    const started = performance.now();
    await sink.flush();
    const took = performance.now() - started;
    // Five batches one after another would take 5 x 100 ms; one deadline for the whole flush takes 100.
    expect(took).toBeGreaterThanOrEqual(90);
    expect(took).toBeLessThan(250);
    // The batch (or two) cut off in flight failed; what never left is dropped; every span is accounted for once.
    expect(results.exported ?? 0).toBe(0);
    expect((results.failed ?? 0) + (results.dropped ?? 0)).toBe(10);
    expect(results.dropped).toBeGreaterThanOrEqual(6);
  });

  it("still exports after a flush that ran out of time", async () => {
    const collector = hangingCollector();
    const { sink, results } = tallyingSink(collector, { batchSize: 2, maxQueue: 100, flushMs: 60_000, timeoutMs: 50 });
    for (let i = 0; i < 4; i++) sink.push(span(i));
    await sink.flush();
    sink.push(span(5));
    const answering = setInterval(collector.answerAll, 1);
    try {
      await sink.flush();
    } finally {
      clearInterval(answering);
    }
    expect(results.exported).toBe(1);
  });
});
