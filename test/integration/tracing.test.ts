// Spans exported over OTLP/HTTP JSON to an in-process collector fake: the tree, the ids, propagation upstream.
import { Hono } from "hono";
import { describe, expect, it, vi } from "vitest";
import { createApp } from "../../src/app";
import { bodyText, chatBody, fetchInto, postChat, testConfig } from "../helpers";
import { qualityOf } from "../sim/random";
import { createSimulator } from "../sim/server";
import { parseExposition, sampleValue } from "../prom-parse";

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: { key: string; value: Record<string, unknown> }[];
  status: { code: number; message?: string };
}

/** A collector that stores what it is sent; `hang` makes it never answer (until the exporter gives up). */
function collector(mode: "ok" | "fail" | "hang" = "ok") {
  const batches: { resourceSpans: { resource: { attributes: unknown[] }; scopeSpans: { spans: OtlpSpan[] }[] }[] }[] = [];
  const app = new Hono();
  app.post("/v1/traces", async (c) => {
    if (c.req.header("content-type") !== "application/json") return c.text("wrong type", 415);
    batches.push(await c.req.json());
    if (mode === "fail") return c.text("down", 503);
    if (mode === "hang") await new Promise((resolve) => c.req.raw.signal.addEventListener("abort", resolve));
    return c.json({});
  });
  const spans = () => batches.flatMap((b) => b.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans)));
  return { app, batches, spans };
}

function setup(options: { mode?: "ok" | "fail" | "hang"; tracing?: Record<string, unknown>; config?: Record<string, unknown> } = {}) {
  const sim = createSimulator();
  const otlp = collector(options.mode);
  const toSim = fetchInto(sim.app);
  // Like a real fetch, a call to the collector fails as soon as its signal aborts, whatever the server is doing.
  const toCollector: typeof globalThis.fetch = (input, init) =>
    new Promise((resolve, reject) => {
      init?.signal?.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError")), { once: true });
      fetchInto(otlp.app)(input, init).then(resolve, reject);
    });
  const fetch: typeof globalThis.fetch = (input, init) =>
    new URL(String(input instanceof Request ? input.url : input)).host === "collector.test" ? toCollector(input, init) : toSim(input, init);
  const config = testConfig({ tracing: { otlp_endpoint: "http://collector.test", flush_ms: 20, ...options.tracing }, ...options.config });
  return { sim, otlp, app: createApp({ config, fetch }) };
}

const attr = (span: OtlpSpan, key: string) => span.attributes.find((a) => a.key === key)?.value;

describe("OTLP traces", () => {
  it("form the tree request -> sample -> N candidates, plus one span per judge call, in the client's trace", async () => {
    const { app, otlp, sim } = setup({ config: { generator: { supports_n: false } } });
    const clientTrace = "4bf92f3577b34da6a3ce929d0e0e4736";
    const clientParent = "00f067aa0ba902b7";
    const response = await postChat(app, chatBody({ verdict: { n: 4, tournament: "knockout" } }), {
      traceparent: `00-${clientTrace}-${clientParent}-01`,
      "x-request-id": "traced-1",
    });
    expect(response.status).toBe(200);
    const judgeCalls = (await response.json()).verdict.judge.calls;
    expect(judgeCalls).toBe(6);
    await vi.waitFor(() => expect(otlp.spans()).toHaveLength(1 + 1 + 4 + judgeCalls), { timeout: 2000, interval: 10 });

    const spans = otlp.spans();
    for (const span of spans) {
      expect(span.traceId).toBe(clientTrace);
      expect(span.spanId).toMatch(/^[0-9a-f]{16}$/);
      expect(span.startTimeUnixNano).toMatch(/^\d{19}$/);
      expect(BigInt(span.endTimeUnixNano)).toBeGreaterThanOrEqual(BigInt(span.startTimeUnixNano));
    }
    expect(new Set(spans.map((s) => s.spanId)).size).toBe(spans.length);
    const [request, ...others] = [spans.find((s) => s.name === "POST chat_completions")!, ...spans.filter((s) => s.name !== "POST chat_completions")];
    expect(request.parentSpanId).toBe(clientParent);
    expect(request.kind).toBe(2);
    expect(attr(request, "http.response.status_code")).toEqual({ intValue: "200" });
    expect(attr(request, "verdict.request_id")).toEqual({ stringValue: "traced-1" });
    const sample = others.filter((s) => s.name === "sample");
    const candidates = others.filter((s) => s.name === "candidate");
    const judges = others.filter((s) => s.name === "judge");
    expect([sample.length, candidates.length, judges.length]).toEqual([1, 4, 6]);
    expect(sample[0]!.parentSpanId).toBe(request.spanId);
    expect(candidates.every((s) => s.parentSpanId === sample[0]!.spanId)).toBe(true);
    expect(candidates.map((s) => Number(attr(s, "verdict.candidate.index")!.intValue)).sort()).toEqual([0, 1, 2, 3]);
    expect(judges.every((s) => s.parentSpanId === request.spanId && attr(s, "verdict.judge.cached")!.boolValue === false)).toBe(true);
    expect(otlp.batches[0]!.resourceSpans[0]!.resource.attributes).toContainEqual({ key: "service.name", value: { stringValue: "verdict" } });

    // Each upstream call carried its own span as the parent, so the upstream's spans hang under the right node.
    const parentsSeen = sim.requests.map((r) => r.headers.traceparent!.split("-")[2]);
    const generatorParents = sim.requests.filter((r) => r.role === "generator").map((r) => r.headers.traceparent!.split("-")[2]).sort();
    expect(generatorParents).toEqual(candidates.map((s) => s.spanId).sort());
    expect(parentsSeen.filter((id) => judges.some((j) => j.spanId === id))).toHaveLength(6);
    expect(sim.requests.every((r) => r.headers.traceparent!.startsWith(`00-${clientTrace}-`))).toBe(true);
  });

  it("starts a new trace without a client traceparent, and a pass-through is a child of the request span", async () => {
    const { app, otlp, sim } = setup();
    await postChat(app, chatBody({ verdict: { n: 1 } }));
    await vi.waitFor(() => expect(otlp.spans()).toHaveLength(1), { timeout: 2000, interval: 10 });
    const [request] = otlp.spans();
    expect(request!.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(request!.parentSpanId).toBeUndefined();
    expect(sim.requests[0]!.headers.traceparent).toBe(`00-${request!.traceId}-${request!.spanId}-01`);
  });

  it("marks a judgment verdict stopped itself (a round-robin settled early) as cancelled, not as a judge error", async () => {
    // Three answers ranked by the simulator's hidden quality; its judge (accuracy 1) names the better one every time.
    const [best, middle, worst] = ["Rayleigh scattering.", "Blue light scatters more.", "Because of the ocean.", "Sky is blue.", "Light."]
      .sort((a, b) => qualityOf(b) - qualityOf(a));
    const sim = createSimulator({ generator: { answers: [best!, middle!, worst!] } });
    const otlp = collector();
    const toSim = fetchInto(sim.app);
    // The match without the best answer is held until it is stopped: once the best has won both of its matches,
    // nobody can catch it, and the round-robin ends that match early.
    const fetch: typeof globalThis.fetch = (input, init) => {
      if (String(input).includes("collector.test")) return fetchInto(otlp.app)(input, init);
      const text = bodyText(init);
      if (text.includes(middle!) && text.includes(worst!) && !text.includes(best!)) {
        return new Promise((_, reject) => init?.signal?.addEventListener("abort", () => reject(init.signal!.reason)));
      }
      return toSim(input, init);
    };
    const config = testConfig({ tracing: { otlp_endpoint: "http://collector.test", flush_ms: 20 }, limits: { allow_trace: true } });
    const body = await (await postChat(createApp({ config, fetch }), chatBody({ verdict: { n: 3, tournament: "round_robin", trace: true } }))).json();
    const stopped = (body.verdict.trace.judgments as { error?: string }[]).filter((j) => j.error !== undefined);
    expect(stopped.map((j) => j.error)).toEqual(["cancelled", "cancelled"]);
    await vi.waitFor(() => expect(otlp.spans().filter((s) => s.name === "judge")).toHaveLength(6), { timeout: 2000, interval: 10 });
    const judgeSpans = otlp.spans().filter((s) => s.name === "judge");
    expect(judgeSpans.filter((s) => s.status.code === 2)).toEqual([]);
    expect(judgeSpans.filter((s) => s.attributes.some((a) => a.key === "verdict.cancelled"))).toHaveLength(2);
  });

  it("holds no configured secret, even one a client sends as its model name and request id", async () => {
    const key = "sk-generator-SECRET-0123456789";
    const { app, otlp } = setup({ config: { generator: { base_url: "http://sim.test/v1", api_key: key }, metrics: { token: "scrape-TOKEN-4567" } } });
    await postChat(app, chatBody({ model: key, verdict: { n: 1 } }), { "x-request-id": "scrape-TOKEN-4567" });
    await vi.waitFor(() => expect(otlp.spans()).toHaveLength(1), { timeout: 2000, interval: 10 });
    const exported = JSON.stringify(otlp.batches);
    expect(exported).not.toContain(key);
    expect(exported).not.toContain("scrape-TOKEN-4567");
    expect(exported).toContain("[redacted]");
  });

  it("names a failed candidate's span with the failure's code, as the client hears it, when the upstream gives none", async () => {
    const otlp = collector();
    // A generator whose 500 carries a message and no code: the SDK's error class is all the raw failure says ("Error").
    const fetch: typeof globalThis.fetch = (input, init) =>
      String(input).includes("collector.test") ? fetchInto(otlp.app)(input, init) : Promise.resolve(Response.json({ error: { message: "boom" } }, { status: 500 }));
    const app = createApp({ config: testConfig({ tracing: { otlp_endpoint: "http://collector.test", flush_ms: 20 } }), fetch });
    const response = await postChat(app, chatBody({ verdict: { n: 2 } }));
    expect(response.status).toBe(502);
    expect((await response.json()).error.code).toBe("generator_error");
    await vi.waitFor(() => expect(otlp.spans().filter((s) => s.name === "candidate")).toHaveLength(2), { timeout: 2000, interval: 10 });
    for (const span of otlp.spans().filter((s) => s.name === "candidate")) expect(span.status).toEqual({ code: 2, message: "generator_error" });
  });

  it("records nothing for a client trace marked unsampled, but still propagates it", async () => {
    const { app, otlp, sim } = setup();
    const trace = "0af7651916cd43dd8448eb211c80319c";
    await postChat(app, chatBody({ verdict: { n: 2 } }), { traceparent: `00-${trace}-b7ad6b7169203331-00` });
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(otlp.batches).toHaveLength(0);
    expect(sim.requests.every((r) => new RegExp(`^00-${trace}-[0-9a-f]{16}-00$`).test(r.headers.traceparent!))).toBe(true);
  });

  it("never delays the response: a collector that hangs costs spans, not latency, and is counted", async () => {
    const { app, otlp } = setup({ mode: "hang", tracing: { flush_ms: 0, timeout_ms: 50 } });
    const started = Date.now();
    const response = await postChat(app, chatBody({ verdict: { n: 2 } }));
    expect(response.status).toBe(200);
    expect(Date.now() - started).toBeLessThan(1000);
    await vi.waitFor(async () => {
      const m = parseExposition(await (await app.request("/metrics")).text());
      expect(sampleValue(m, "verdict_trace_spans_total", { result: "failed" })).toBe(1 + 1 + 2 + 2);
    }, { timeout: 3000, interval: 20 });
    expect(otlp.batches.length).toBeGreaterThan(0);
  });

  it("swallows a collector's error status and counts the spans as failed", async () => {
    const { app } = setup({ mode: "fail" });
    expect((await postChat(app, chatBody({ verdict: { n: 1 } }))).status).toBe(200);
    await vi.waitFor(async () => {
      const m = parseExposition(await (await app.request("/metrics")).text());
      expect(sampleValue(m, "verdict_trace_spans_total", { result: "failed" })).toBe(1);
    }, { timeout: 2000, interval: 10 });
  });
});
