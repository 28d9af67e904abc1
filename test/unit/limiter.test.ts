// The per-request bound on upstream calls: generator and judge calls of one request never exceed it, and use it.
import { describe, expect, it } from "vitest";
import { createLimiter } from "../../src/limiter";
import { ProxyError } from "../../src/errors";
import { createLayeredCache } from "../../src/cache/layered";
import { createMemoryCache } from "../../src/cache/memory";
import type { JudgmentCache } from "../../src/cache/types";
import { chatBody, fetchInto, harness, postChat } from "../helpers";
import { createSimulator } from "../sim/server";

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

  it("counts a shared cache's reads and writes in the bound, as Workers count KV calls with fetches", async () => {
    // Upstream calls and shared-layer calls in flight together, for one request. An upstream call counts until it
    // answers or is aborted (round-robin stops once the leader cannot be caught): an aborted connection is closed.
    let inFlight = 0;
    let peak = 0;
    const during = async <T>(op: () => Promise<T>, signal?: AbortSignal | null): Promise<T> => {
      let open = true;
      const close = () => void (open && ((open = false), (inFlight -= 1)));
      peak = Math.max(peak, ++inFlight);
      signal?.addEventListener("abort", close);
      try {
        await new Promise((resolve) => setTimeout(resolve, 5));
        return await op();
      } finally {
        close();
      }
    };
    const stored = new Map<string, unknown>();
    const back: JudgmentCache = { get: (key) => during(async () => stored.get(key)), set: (key, value) => during(async () => void stored.set(key, value)) };
    const cache = createLayeredCache({ front: createMemoryCache({ max_entries: 100, max_bytes: 1 << 20, ttl_ms: 60_000 }), back, name: "kv", ttlMs: 60_000, writeBehind: true, warn: () => undefined, info: () => undefined });
    const sim = createSimulator(slowSim);
    const simFetch = fetchInto(sim.app);
    const { app } = harness({ config: { generator: { supports_n: false }, limits: { max_inflight_per_request: 3 } }, deps: { cache, fetch: (input, init) => during(() => simFetch(input, init), init?.signal) } });
    const response = await postChat(app, chatBody({ verdict: { n: 6, tournament: "round_robin" } }));
    expect(response.status).toBe(200);
    await cache.settle();
    expect(stored.size).toBeGreaterThan(0);
    expect(peak).toBe(3);
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
