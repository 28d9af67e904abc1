// How an upstream attempt that was cut off is counted (README, metrics table): `timeout` when time ran out (the
// request's budget, timeouts.request_ms, included: the client got a 504), an upstream error to alert on; `aborted` when
// the client went away, which is not an upstream error.
import { describe, expect, it } from "vitest";
import { chatBody, harness, postChat } from "../helpers";
import { parseExposition, sampleValue } from "../prom-parse";

type App = ReturnType<typeof harness>["app"];

async function attempts(app: App, upstream: "generator" | "judge") {
  const m = parseExposition(await (await app.request("/metrics")).text());
  const count = (name: string, status: string) => sampleValue(m, name, { upstream, status }) ?? 0;
  return {
    timeout: count("verdict_upstream_requests_total", "timeout"),
    aborted: count("verdict_upstream_requests_total", "aborted"),
    timeoutErrors: count("verdict_upstream_errors_total", "timeout"),
    abortedErrors: count("verdict_upstream_errors_total", "aborted"),
  };
}

// Per-attempt timeouts far longer than the budget: only the budget can end these calls.
const budget = { timeouts: { request_ms: 150 }, generator: { timeout_ms: 60_000 }, judge: { timeout_ms: 60_000 } };

describe("an upstream attempt cut off by the request's time budget", () => {
  it("is a timeout, and an upstream error, for a reranked request's generator calls", async () => {
    const { app } = harness({ sim: { faults: { generator: { rate: 1, kinds: ["hang"] } } }, config: budget });
    expect((await postChat(app, chatBody({ verdict: { n: 3 } }))).status).toBe(504);
    const counted = await attempts(app, "generator");
    expect(counted.timeout).toBeGreaterThan(0);
    expect(counted.aborted).toBe(0);
    expect(counted.timeoutErrors).toBe(counted.timeout);
  });

  it.each(["fail_closed", "fail_open"])("is a timeout for a judge call (%s)", async (onError) => {
    // Failing open, judging gives way just before the budget ends and the answer is unjudged; failing closed, a 504.
    const config = { ...budget, judge: { ...budget.judge, on_error: onError } };
    const { app } = harness({ sim: { faults: { judge: { rate: 1, kinds: ["hang"] } } }, config });
    expect((await postChat(app, chatBody({ verdict: { n: 2 } }))).status).toBe(onError === "fail_open" ? 200 : 504);
    const counted = await attempts(app, "judge");
    expect(counted.timeout).toBeGreaterThan(0);
    expect(counted.aborted).toBe(0);
    expect(counted.timeoutErrors).toBe(counted.timeout);
  });

  it("is a timeout for streamed sampling, whose openai SDK call aborts its fetch without saying why", async () => {
    const config = { ...budget, generator: { ...budget.generator, stream_sampling: true, supports_n: true } };
    const { app } = harness({ sim: { faults: { generator: { rate: 1, kinds: ["hang"] } } }, config });
    expect((await postChat(app, chatBody({ verdict: { n: 2 } }))).status).toBe(504);
    const counted = await attempts(app, "generator");
    expect(counted.timeout).toBeGreaterThan(0);
    expect(counted.aborted).toBe(0);
    expect(counted.timeoutErrors).toBe(counted.timeout);
  });

  it("is a timeout for a pass-through", async () => {
    const { app } = harness({ sim: { faults: { generator: { rate: 1, kinds: ["hang"] } } }, config: budget });
    expect((await postChat(app, chatBody({ verdict: { n: 1 } }))).status).toBe(504);
    const counted = await attempts(app, "generator");
    expect(counted).toEqual({ timeout: 1, aborted: 0, timeoutErrors: 1, abortedErrors: 0 });
  });
});

describe("an upstream attempt cut off by its own timeout", () => {
  it("is a timeout, as before", async () => {
    const { app } = harness({ sim: { faults: { generator: { rate: 1, kinds: ["hang"] } } }, config: { generator: { timeout_ms: 100 } } });
    expect((await postChat(app, chatBody({ verdict: { n: 2 } }))).status).toBe(504);
    const counted = await attempts(app, "generator");
    expect(counted.timeout).toBeGreaterThan(0);
    expect(counted.timeoutErrors).toBe(counted.timeout);
    expect(counted.aborted).toBe(0);
  });

  it("is a timeout when it is the openai SDK's own timer (streamed sampling), whose abort gives no reason", async () => {
    const config = { generator: { timeout_ms: 1_000, stream_sampling: true, supports_n: true } };
    const { app } = harness({ sim: { faults: { generator: { rate: 1, kinds: ["hang"] } } }, config });
    expect((await postChat(app, chatBody({ verdict: { n: 2 } }))).status).toBe(504);
    const counted = await attempts(app, "generator");
    expect(counted.timeout).toBeGreaterThan(0);
    expect(counted.timeoutErrors).toBe(counted.timeout);
    expect(counted.aborted).toBe(0);
  });
});

describe("an upstream attempt cut off because the client left", () => {
  it("is aborted, and not an upstream error", async () => {
    const { app, sim } = harness({ sim: { generator: { latency: { ttft_ms: 5_000 } } }, config: { generator: { timeout_ms: 60_000 } } });
    const client = new AbortController();
    const pending = app.request("/v1/chat/completions", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(chatBody({ verdict: { n: 2 } })),
      signal: client.signal,
    });
    while (sim.count("generator") === 0) await new Promise((resolve) => setTimeout(resolve, 2));
    client.abort();
    await Promise.resolve(pending).catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const counted = await attempts(app, "generator");
    expect(counted.aborted).toBeGreaterThan(0);
    expect(counted.timeout).toBe(0);
    expect(counted.timeoutErrors + counted.abortedErrors).toBe(0);
  });
});
