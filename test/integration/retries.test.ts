// Upstream faults injected by the simulator: what verdict retries, what it passes on, and how long it waits.
import { describe, expect, it } from "vitest";
import { createSimulator } from "../sim/server";
import type { SimOptionsInput } from "../sim/options";
import OpenAI from "openai";
import { chatBody, fetchInto, harness, postChat } from "../helpers";

const fastRetries = { generator: { max_retries: 2 }, judge: { max_retries: 2 }, retry: { base_delay_ms: 1, max_delay_ms: 4 } };

function withFaults(sim: SimOptionsInput, config: Record<string, unknown> = {}) {
  return harness({ sim, config: { ...fastRetries, ...config, generator: { ...fastRetries.generator, ...(config.generator as object) } } });
}

describe("retries", () => {
  it.each(["status_500", "status_502", "status_503", "status_429", "reset", "truncated_json", "malformed_json"] as const)(
    "retries a generator call that fails with %s, then answers 200",
    async (fault) => {
      const { app, sim } = withFaults({ faults: { generator: { script: [fault, fault] } } });
      const response = await postChat(app, chatBody({ verdict: { n: 3 } }));
      expect(response.status).toBe(200);
      expect((await response.json()).verdict.n_candidates).toBe(3);
      expect(sim.requests.filter((r) => r.role === "generator").map((r) => r.fault)).toEqual([fault, fault, null]);
    },
  );

  it("gives up after max_retries and passes the upstream's status on", async () => {
    const { app, sim } = withFaults({ faults: { generator: { rate: 1, kinds: ["status_503"] } } });
    const response = await postChat(app, chatBody({ verdict: { n: 3 } }));
    expect(response.status).toBe(503);
    expect((await response.json()).error).toMatchObject({ type: "upstream_error", message: expect.stringMatching(/simulated 503/) });
    expect(sim.count("generator")).toBe(3);
  });

  it("tells the client's SDK not to retry what verdict retried already, so calls do not multiply", async () => {
    for (const n of [3, 1]) {
      const { app, sim } = withFaults({ faults: { generator: { rate: 1, kinds: ["status_500"] } } });
      // The openai SDK retries a 5xx twice by default, unless the answer says not to.
      const client = new OpenAI({ baseURL: "http://verdict.test/v1", apiKey: "k", fetch: fetchInto(app), maxRetries: 2 });
      const failed = await client.chat.completions.create({ ...chatBody(), verdict: { n } } as never).catch((err: unknown) => err);
      expect(failed).toBeInstanceOf(OpenAI.InternalServerError);
      expect((failed as InstanceType<typeof OpenAI.APIError>).headers?.get("x-should-retry")).toBe("false");
      expect(sim.count("generator")).toBe(3); // verdict's own three attempts, once
    }
    for (const n of [2, 1]) {
      // A rate limit whose wait verdict kept, three times already, reranked or passed through: the client's SDK would
      // wait it out twice more and call three times each.
      const { app, sim } = withFaults({ faults: { retry_after_ms: 1, generator: { rate: 1, kinds: ["status_429_retry_after"] } } });
      const client = new OpenAI({ baseURL: "http://verdict.test/v1", apiKey: "k", fetch: fetchInto(app), maxRetries: 2 });
      const limited = await client.chat.completions.create({ ...chatBody(), verdict: { n } } as never).catch((err: unknown) => err);
      expect(limited).toBeInstanceOf(OpenAI.RateLimitError);
      expect((limited as InstanceType<typeof OpenAI.APIError>).headers?.get("x-should-retry")).toBe("false");
      expect(sim.count("generator")).toBe(3); // verdict's own three attempts, once
    }
    // Not retried by verdict (max_retries 0): the client's own retry is the only one, and it is not told otherwise.
    for (const n of [2, 1]) {
      const { app } = harness({ sim: { faults: { generator: { rate: 1, kinds: ["status_500"] } } }, config: { generator: { max_retries: 0 } } });
      const failed = await postChat(app, chatBody({ verdict: { n } }));
      expect(failed.status).toBeGreaterThanOrEqual(500);
      expect(failed.headers.get("x-should-retry")).toBeNull();
    }
    // A 503 that says to come back in a minute, longer than verdict waits: the client's to retry then.
    const later = async () => Response.json({ error: { message: "overloaded" } }, { status: 503, headers: { "retry-after": "60" } });
    const { app: busy } = harness({ config: fastRetries, deps: { fetch: later } });
    const overloaded = await postChat(busy, chatBody({ verdict: { n: 2 } }));
    expect(overloaded.status).toBe(503);
    expect(overloaded.headers.get("retry-after")).toBe("60");
    expect(overloaded.headers.get("x-should-retry")).toBeNull();
  });

  it("never retries a 400", async () => {
    const sim = createSimulator();
    let calls = 0;
    const fetch: typeof globalThis.fetch = async () => {
      calls += 1;
      return Response.json({ error: { message: "bad temperature", type: "invalid_request_error", param: "temperature" } }, { status: 400 });
    };
    const { app } = harness({ config: { ...fastRetries, generator: { max_retries: 3, supports_n: false } }, deps: { fetch } });
    const response = await postChat(app, chatBody({ verdict: { n: 2 } }));
    expect(response.status).toBe(400);
    expect((await response.json()).error.param).toBe("temperature");
    expect(calls).toBe(2); // one call per candidate, none repeated
    expect(sim.requests).toHaveLength(0);
  });

  it("waits as long as retry-after-ms asks, when that is under the cap", async () => {
    const { app, sim } = withFaults({ faults: { retry_after_ms: 150, generator: { script: ["status_429_retry_after"] } } });
    const started = performance.now();
    const response = await postChat(app, chatBody({ verdict: { n: 2 } }));
    expect(response.status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(145);
    expect(sim.count("generator")).toBe(2);
  });

  it("does not wait for a retry-after above the cap: the client gets the 429 and its retry-after at once", async () => {
    const { app, sim } = withFaults(
      { faults: { retry_after_ms: 30_000, generator: { rate: 1, kinds: ["status_429_retry_after"] } } },
      { retry: { base_delay_ms: 1, max_retry_after_ms: 1_000 } },
    );
    const started = performance.now();
    const response = await postChat(app, chatBody({ verdict: { n: 2 } }));
    expect(performance.now() - started).toBeLessThan(500);
    expect(response.status).toBe(429);
    expect(response.headers.get("retry-after")).toBe("30");
    expect(sim.count("generator")).toBe(1);
  });

  it("gives the client a retry-after in seconds when the upstream sent only retry-after-ms", async () => {
    const fetch: typeof globalThis.fetch = async () =>
      Response.json({ error: { message: "slow down", type: "rate_limit_error" } }, { status: 429, headers: { "retry-after-ms": "29500" } });
    const { app } = harness({ config: { ...fastRetries, retry: { max_retry_after_ms: 1_000 } }, deps: { fetch } });
    const response = await postChat(app, chatBody({ verdict: { n: 2 } }));
    expect(response.status).toBe(429);
    expect(response.headers.get("retry-after")).toBe("30");
  });

  it("retries a call that hangs past generator.timeout_ms", async () => {
    const { app, sim } = withFaults({ faults: { generator: { script: ["hang"] } } }, { generator: { timeout_ms: 100 } });
    const started = performance.now();
    const response = await postChat(app, chatBody({ verdict: { n: 2 } }));
    expect(response.status).toBe(200);
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(sim.requests[0]!.aborted).toBe(true); // the hung call was abandoned, not left running
  });

  it("retries pass-through requests too, and answers 200 once the upstream recovers", async () => {
    const { app, sim } = withFaults({ faults: { generator: { script: ["status_503", "reset", "truncated_json"] } } }, { generator: { max_retries: 3 } });
    const response = await postChat(app, chatBody({ verdict: { n: 1 } }));
    expect(response.status).toBe(200);
    expect((await response.json()).object).toBe("chat.completion");
    expect(sim.count("generator")).toBe(4);
  });

  it("retries judge calls that fail with a 5xx", async () => {
    const { app, sim } = withFaults({ faults: { judge: { script: ["status_502", "status_503"] } } });
    const response = await postChat(app, chatBody({ verdict: { n: 2 } }));
    const body = await response.json();
    expect(body.verdict.degraded).toBeUndefined();
    expect(sim.count("judge")).toBe(4); // two orders, one of them tried three times
  });
});
