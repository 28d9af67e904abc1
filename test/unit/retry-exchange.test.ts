// Pass-through retries (src/retry-exchange.ts): which request bodies can be sent again.
import { describe, expect, it } from "vitest";
import type { Exchange, ExchangeReply, ExchangeRequest } from "../../src/exchange";
import { retryingExchange } from "../../src/retry-exchange";

const policy = { maxRetries: 2, baseDelayMs: 1, maxDelayMs: 1, maxRetryAfterMs: 1_000, random: () => 0, now: Date.now };

/** Answers 503 until the `failures`th call, then 200 with a JSON body; counts the calls. */
function flaky(failures: number): { exchange: Exchange; calls: () => number } {
  let calls = 0;
  const exchange: Exchange = async (): Promise<ExchangeReply> => {
    calls += 1;
    if (calls <= failures) return { status: 503, headers: {}, body: new Uint8Array() };
    return { status: 200, headers: { "content-type": "application/json" }, body: new TextEncoder().encode("{}") };
  };
  return { exchange, calls: () => calls };
}

const request = (body: ExchangeRequest["body"]): ExchangeRequest => ({ url: "http://upstream.test/v1/chat/completions", method: "POST", headers: {}, body });

describe("retrying exchange", () => {
  it("sends a text or bytes body again after a retryable status", async () => {
    for (const body of ['{"model":"m"}', new TextEncoder().encode('{"model":"m"}')]) {
      const upstream = flaky(1);
      const reply = await retryingExchange(upstream.exchange, { policy, attemptMs: 1_000, budgetMs: 5_000 })(request(body));
      expect(reply.status).toBe(200);
      expect(upstream.calls()).toBe(2);
    }
  });

  it("gives a streamed body one attempt: it cannot be read twice", async () => {
    const upstream = flaky(1);
    const stream = new ReadableStream<Uint8Array>({ start: (c) => (c.enqueue(new TextEncoder().encode("{}")), c.close()) });
    const reply = await retryingExchange(upstream.exchange, { policy, attemptMs: 1_000, budgetMs: 5_000 })(request(stream));
    expect(reply.status).toBe(503);
    expect(upstream.calls()).toBe(1);
  });
});
