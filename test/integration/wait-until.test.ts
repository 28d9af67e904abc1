// On Workers a reranked stream whose client leaves ends its work at once, while the upstream calls aborted then settle
// later (the runtime rejects them on a later turn). The request hands the runtime's waitUntil its pipeline's end and
// the settling of every call it started, so the invocation lives until their slots are given back and they are counted.
import { describe, expect, it } from "vitest";
import { chatBody, fetchInto, harness } from "../helpers";
import { parseExposition, sampleValue } from "../prom-parse";
import { createSimulator } from "../sim/server";

/** The simulator, slow to answer, behind a fetch whose aborted calls reject only `lateMs` after their abort. */
function lateRejectingUpstream(lateMs: number) {
  const sim = createSimulator({ generator: { latency: { ttft_ms: 2_000, jitter: 0 } } });
  const simFetch = fetchInto(sim.app);
  const fetch: typeof globalThis.fetch = (input, init) => {
    const signal = init?.signal;
    const { signal: _own, ...rest } = init ?? {};
    return new Promise((resolve, reject) => {
      signal?.addEventListener("abort", () => setTimeout(() => reject(signal.reason), lateMs), { once: true });
      simFetch(input, rest).then(resolve, reject);
    });
  };
  return fetch;
}

describe("work handed to waitUntil", () => {
  it("lasts until every upstream call of a stream whose client left has settled and given back its slot", async () => {
    const { app } = harness({
      deps: { fetch: lateRejectingUpstream(150) },
      config: { limits: { max_inflight_per_request: 6 }, server: { keepalive_ms: 10 } },
    });
    const handed: Promise<unknown>[] = [];
    const execution = { waitUntil: (work: Promise<unknown>) => void handed.push(work), passThroughOnException: () => undefined, props: {} };
    const client = new AbortController();
    const request = new Request("http://verdict.test/v1/chat/completions", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(chatBody({ stream: true, verdict: { n: 3 } })),
      signal: client.signal,
    });
    const response = await app.request(request, undefined, {}, execution as never);
    expect(response.status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 50));
    client.abort();
    for (let seen = 0; seen < handed.length; ) {
      const batch = handed.slice(seen);
      seen = handed.length;
      await Promise.allSettled(batch);
    }
    const metrics = parseExposition(await (await app.request("/metrics")).text());
    expect(sampleValue(metrics, "verdict_upstream_queue_depth", { upstream: "generator" })).toBe(0);
  });
});
