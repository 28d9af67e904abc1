// The per-request bound on upstream calls: generator and judge calls of one request never exceed it, and use it.
import { describe, expect, it } from "vitest";
import { createLimiter } from "../../src/limiter";
import { ProxyError } from "../../src/errors";
import { chatBody, harness, postChat } from "../helpers";

const slowSim = { supports_n: false, generator: { latency: { ttft_ms: 15 } }, judge: { latency: { ttft_ms: 15 } } };

async function peakFor(limits: Record<string, unknown>) {
  const { app, sim } = harness({ sim: slowSim, config: { generator: { supports_n: false }, limits } });
  const response = await postChat(app, chatBody({ verdict: { n: 8, tournament: "round_robin" } }));
  expect(response.status).toBe(200);
  expect(sim.count("generator")).toBe(8);
  return sim.peakInFlight();
}

describe("per-request limiter", () => {
  it("holds one request's generator and judge calls to limits.max_inflight_per_request", async () => {
    expect(await peakFor({ max_inflight_per_request: 3 })).toBe(3);
  });

  it("sets no bound when the setting is absent (Node's default)", async () => {
    expect(await peakFor({})).toBeGreaterThan(6);
  });

  it("gives each request its own slots", async () => {
    const { app, sim } = harness({ sim: slowSim, config: { generator: { supports_n: false }, limits: { max_inflight_per_request: 2 } } });
    const responses = await Promise.all([1, 2, 3].map(() => postChat(app, chatBody({ verdict: { n: 4 } }))));
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(sim.peakInFlight()).toBeGreaterThan(2);
    expect(sim.peakInFlight()).toBeLessThanOrEqual(6);
  });

  it("answers a task cancelled while it waits for a slot as a cancelled request (499)", async () => {
    const limiter = createLimiter(1);
    let release = () => undefined as void;
    const first = limiter.run(() => new Promise<void>((done) => (release = done)));
    const controller = new AbortController();
    const waiting = limiter.run(async () => "never", controller.signal);
    controller.abort();
    await expect(waiting).rejects.toSatisfy((err) => err instanceof ProxyError && err.status === 499);
    release();
    await first;
  });
});
