// GET /metrics through the app: valid exposition text, and counters that move exactly as a scripted run predicts.
import { describe, expect, it, vi } from "vitest";
import { createApp } from "../../src/app";
import { bodyText, chatBody, fetchInto, harness, postChat, testConfig } from "../helpers";
import { createSimulator } from "../sim/server";
import { parseExposition, sampleValue } from "../prom-parse";

async function scrape(app: { request: (path: string, init?: RequestInit) => Response | Promise<Response> }, headers: Record<string, string> = {}) {
  const response = await app.request("/metrics", { headers });
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
  return parseExposition(await response.text());
}

describe("metrics after a scripted run", () => {
  it("count 2 best-of-4 knockouts (the second fully cached), 1 pass-through and 1 bad request exactly", async () => {
    const { app } = harness();
    const reranked = chatBody({ seed: 3, verdict: { n: 4, tournament: "knockout" } });
    const first = await (await postChat(app, reranked)).json();
    const second = await (await postChat(app, reranked)).json();
    expect(first.verdict.judge).toMatchObject({ calls: 6, cache_hits: 0 });
    expect(second.verdict.judge).toMatchObject({ calls: 0, cache_hits: 6 });
    expect((await postChat(app, chatBody({ verdict: { n: 1 } }))).status).toBe(200);
    expect((await postChat(app, { model: "sim-generator" })).status).toBe(400);

    const m = await scrape(app);
    const v = (name: string, labels: Record<string, string> = {}) => sampleValue(m, name, labels);
    const chat = { route: "chat_completions" };
    expect(v("verdict_requests_total", { ...chat, strategy: "pairwise", status: "200" })).toBe(2);
    expect(v("verdict_requests_total", { ...chat, strategy: "none", status: "200" })).toBe(1);
    expect(v("verdict_requests_total", { ...chat, strategy: "unresolved", status: "400" })).toBe(1);
    expect(m.get("verdict_requests_total")!.samples).toHaveLength(3);
    expect(v("verdict_request_duration_seconds_count", { ...chat, strategy: "pairwise" })).toBe(2);
    expect(v("verdict_requests_in_flight")).toBe(0);
    expect(v("verdict_candidates_total")).toBe(8);
    expect(v("verdict_judge_calls_total", { task: "pairwise" })).toBe(6);
    expect(v("verdict_judge_cache_total", { result: "miss" })).toBe(6);
    expect(v("verdict_judge_cache_total", { result: "hit" })).toBe(6);
    expect(v("verdict_matches_total", { consistent: "true" })).toBe(6);
    expect(v("verdict_matches_total", { consistent: "false" })).toBe(0);
    expect(v("verdict_sampling_duration_seconds_count", { strategy: "pairwise" })).toBe(2);
    expect(v("verdict_judging_duration_seconds_count", { strategy: "pairwise" })).toBe(2);
    // Two `n` calls and the pass-through reached the generator; six judge calls, nothing failed or retried.
    expect(v("verdict_upstream_requests_total", { upstream: "generator", status: "200" })).toBe(3);
    expect(v("verdict_upstream_requests_total", { upstream: "judge", status: "200" })).toBe(6);
    expect(v("verdict_upstream_retries_total", { upstream: "judge" })).toBe(0);
    expect(m.get("verdict_upstream_errors_total")!.samples).toHaveLength(0);
    expect(v("verdict_upstream_request_duration_seconds_count", { upstream: "judge" })).toBe(6);
    expect(v("verdict_upstream_queue_depth", { upstream: "generator" })).toBe(0);
    const usage = (role: "generator" | "judge", kind: "prompt" | "completion") =>
      first.verdict.usage[role][`${kind}_tokens`] + second.verdict.usage[role][`${kind}_tokens`];
    for (const role of ["generator", "judge"] as const) {
      for (const kind of ["prompt", "completion"] as const) {
        expect(v("verdict_tokens_total", { role, kind })).toBe(usage(role, kind));
      }
    }
    expect(v("verdict_tokens_total", { role: "judge", kind: "prompt" })).toBeGreaterThan(0);
  });

  it("counts position-inconsistent matches and their rematches", async () => {
    // A judge that always names whichever answer it reads first disagrees with itself on every match.
    const { app } = harness({ sim: { judge: { bias: 1 } } });
    const body = await (await postChat(app, chatBody({ verdict: { n: 2, rematches: 1 } }))).json();
    expect(body.verdict.matches[0]).toMatchObject({ consistent: false, rematches: 1 });
    const m = await scrape(app);
    expect(sampleValue(m, "verdict_matches_total", { consistent: "false" })).toBe(1);
    expect(sampleValue(m, "verdict_match_rematches_total")).toBe(1);
  });
});

describe("upstream attempts", () => {
  it("count the SDK's retries and the failed attempt's status", async () => {
    const sim = createSimulator();
    let failed = 0;
    const flaky: typeof fetch = async (input, init) => {
      const judgeCall = bodyText(init).includes('"model":"sim-judge"');
      if (judgeCall && failed === 0) {
        failed += 1;
        return new Response('{"error":{"message":"busy"}}', { status: 503, headers: { "retry-after-ms": "1", "content-type": "application/json" } });
      }
      return fetchInto(sim.app)(input, init);
    };
    const app = createApp({ config: testConfig({ judge: { max_retries: 1 } }), fetch: flaky });
    expect((await postChat(app, chatBody({ verdict: { n: 2 } }))).status).toBe(200);
    const m = await scrape(app);
    expect(sampleValue(m, "verdict_upstream_requests_total", { upstream: "judge", status: "503" })).toBe(1);
    expect(sampleValue(m, "verdict_upstream_requests_total", { upstream: "judge", status: "200" })).toBe(2);
    expect(sampleValue(m, "verdict_upstream_retries_total", { upstream: "judge" })).toBe(1);
    expect(sampleValue(m, "verdict_upstream_errors_total", { upstream: "judge", status: "503" })).toBe(1);
  });

  it("count an unreachable upstream as a network error", async () => {
    const app = createApp({ config: testConfig(), fetch: async () => Promise.reject(new TypeError("fetch failed")) });
    expect((await postChat(app, chatBody({ verdict: { n: 1 } }))).status).toBe(502);
    const m = await scrape(app);
    expect(sampleValue(m, "verdict_upstream_errors_total", { upstream: "generator", status: "network_error" })).toBe(1);
    expect(sampleValue(m, "verdict_requests_total", { route: "chat_completions", strategy: "none", status: "502" })).toBe(1);
  });
});

describe("queue depth and in-flight requests", () => {
  it("are read at scrape time while a request waits on a slow judge", async () => {
    const { app, sim } = harness({ sim: { judge: { latency: { ttft_ms: 150 } } }, config: { judge: { concurrency: 1 } } });
    const pending = postChat(app, chatBody({ verdict: { n: 2 } }));
    await vi.waitFor(() => expect(sim.count("judge")).toBe(1), { timeout: 2000, interval: 5 });
    const m = await scrape(app);
    expect(sampleValue(m, "verdict_upstream_queue_depth", { upstream: "judge" })).toBe(2);
    expect(sampleValue(m, "verdict_requests_in_flight")).toBe(1);
    expect((await pending).status).toBe(200);
    expect(sampleValue(await scrape(app), "verdict_upstream_queue_depth", { upstream: "judge" })).toBe(0);
  });
});

describe("the /metrics endpoint", () => {
  it("wants the bearer token when metrics.token is set", async () => {
    const { app } = harness({ config: { metrics: { token: "scrape-secret" } } });
    expect((await app.request("/metrics")).status).toBe(401);
    const wrong = await app.request("/metrics", { headers: { authorization: "Bearer scrape-secreT" } });
    expect(wrong.status).toBe(401);
    expect((await wrong.json()).error.code).toBe("invalid_metrics_token");
    await scrape(app, { authorization: "Bearer scrape-secret" });
  });

  it("is a 404 when metrics are disabled, and requests still work", async () => {
    const { app } = harness({ config: { metrics: { enabled: false } } });
    expect((await postChat(app, chatBody({ verdict: { n: 2 } }))).status).toBe(200);
    expect((await app.request("/metrics")).status).toBe(404);
  });

  it("does not count scrapes or health checks as traffic", async () => {
    const { app } = harness();
    await app.request("/healthz");
    await scrape(app);
    const m = await scrape(app);
    expect(m.get("verdict_requests_total")!.samples).toHaveLength(0);
  });
});
