// The retry policy's arithmetic, and the SSE relay's event boundaries.
import { describe, expect, it } from "vitest";
import { nextDelay, retryAfterMs, wasRetried, withRetries, type RetryPolicy } from "../../src/retry";
import { lastEventEnd } from "../../src/sse-guard";

const policy = (random: number, extra: Partial<RetryPolicy> = {}): RetryPolicy => ({
  maxRetries: 3, baseDelayMs: 100, maxDelayMs: 1_000, maxRetryAfterMs: 5_000, random: () => random, now: Date.now, ...extra,
});

describe("retry policy", () => {
  it("reads retry-after-ms first, then retry-after as seconds or a date", () => {
    expect(retryAfterMs(new Headers({ "retry-after-ms": "250", "retry-after": "9" }))).toBe(250);
    expect(retryAfterMs(new Headers({ "retry-after": "2" }))).toBe(2_000);
    const now = Date.parse("2030-01-01T00:00:00Z");
    expect(retryAfterMs(new Headers({ "retry-after": "Tue, 01 Jan 2030 00:00:03 GMT" }), now)).toBe(3_000);
    expect(retryAfterMs(new Headers({ "retry-after": "soon" }))).toBeUndefined();
    expect(retryAfterMs(new Headers())).toBeUndefined();
  });

  it("backs off exponentially with half of each step random, up to the cap", () => {
    const retryable = { retryable: true };
    expect(nextDelay(policy(0), 0, retryable, Infinity)).toBe(50);
    expect(nextDelay(policy(1), 0, retryable, Infinity)).toBe(100);
    expect(nextDelay(policy(0), 2, retryable, Infinity)).toBe(200);
    expect(nextDelay(policy(1, { maxRetries: 10 }), 8, retryable, Infinity)).toBe(1_000);
  });

  it("stops on final failures, spent retries, retry-after over the cap, and waits that would miss the deadline", () => {
    expect(nextDelay(policy(0), 0, { retryable: false }, Infinity)).toBeNull();
    expect(nextDelay(policy(0), 3, { retryable: true }, Infinity)).toBeNull();
    expect(nextDelay(policy(0), 0, { retryable: true, retryAfterMs: 6_000 }, Infinity)).toBeNull();
    expect(nextDelay(policy(0), 0, { retryable: true, retryAfterMs: 4_000 }, Infinity)).toBe(4_000);
    expect(nextDelay(policy(0), 0, { retryable: true, retryAfterMs: 4_000 }, 3_999)).toBeNull();
    expect(nextDelay(policy(1), 1, { retryable: true }, 150)).toBeNull();
  });

  it("stops waiting as soon as the signal aborts, and throws the last upstream error", async () => {
    const controller = new AbortController();
    const failure = new Error("upstream 503");
    const started = performance.now();
    setTimeout(() => controller.abort(), 20);
    let retries = 0;
    const waiting = policy(1, { baseDelayMs: 10_000, maxDelayMs: 10_000, onRetry: () => void (retries += 1) });
    const run = withRetries(() => Promise.reject(failure), () => ({ retryable: true }), waiting, controller.signal);
    await expect(run).rejects.toBe(failure);
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(retries).toBe(0); // the wait was cut short: no retry was sent, none is counted
  });

  it("counts each retry it sends", async () => {
    let retries = 0;
    let attempts = 0;
    const quick = policy(0, { baseDelayMs: 1, maxDelayMs: 1, onRetry: () => void (retries += 1) });
    await expect(withRetries(() => (++attempts, Promise.reject(new Error("503"))), () => ({ retryable: true }), quick)).rejects.toThrow("503");
    expect([attempts, retries]).toEqual([4, 3]);
  });
});

describe("what a failure after verdict's retries tells the client", () => {
  const quick = policy(0, { maxRetries: 2, baseDelayMs: 1, maxDelayMs: 1 });
  /** The last failure of a call whose attempts fail as `failures` say, in turn (the last one repeating). */
  const lastOf = async (failures: Array<{ retryable: boolean; retryAfterMs?: number }>, deadline?: number) => {
    let attempt = 0;
    const errors = failures.map((kind, i) => Object.assign(new Error(`failure ${i}`), { kind }));
    const thrown = await withRetries(
      () => Promise.reject(errors[Math.min(attempt++, errors.length - 1)]),
      (err) => (err as (typeof errors)[number]).kind,
      quick,
      undefined,
      deadline,
    ).catch((err: unknown) => err);
    return { thrown, retried: wasRetried(thrown), attempts: attempt };
  };

  it("says verdict retried as far as it goes only when its retries ran out", async () => {
    expect(await lastOf([{ retryable: true }])).toMatchObject({ retried: true, attempts: 3 });
    // Not retried at all: the client's retry is the only one.
    expect(await lastOf([{ retryable: false }])).toMatchObject({ retried: false, attempts: 1 });
    // Retried, then refused by something final (verdict's own full queue): not for verdict to forbid the client.
    expect(await lastOf([{ retryable: true }, { retryable: false }])).toMatchObject({ retried: false, attempts: 2 });
    // Retried, then asked for a wait longer than verdict gives, or one past the deadline: the client may come back.
    expect(await lastOf([{ retryable: true }, { retryable: true, retryAfterMs: 60_000 }])).toMatchObject({ retried: false, attempts: 2 });
    expect(await lastOf([{ retryable: true }, { retryable: true, retryAfterMs: 3_000 }], Date.now() + 1_000)).toMatchObject({ retried: false, attempts: 2 });
    // The same when the retries have run out by then: the last answer's wait decides, not the count.
    const short = { retryable: true, retryAfterMs: 1 };
    expect(await lastOf([short, short, { retryable: true, retryAfterMs: 60_000 }])).toMatchObject({ retried: false, attempts: 3 });
    expect(await lastOf([short, short, { retryable: true, retryAfterMs: 3_000 }], Date.now() + 1_000)).toMatchObject({ retried: false, attempts: 3 });
    expect(await lastOf([short, short, short])).toMatchObject({ retried: true, attempts: 3 });
  });
});

describe("SSE event boundaries", () => {
  const bytes = (text: string) => new TextEncoder().encode(text);
  it("finds the end of the last whole event", () => {
    expect(lastEventEnd(bytes("data: a\n\ndata: b"))).toBe(9);
    expect(lastEventEnd(bytes("data: a\r\n\r\ndata: b\r\n\r\n"))).toBe(22);
    expect(lastEventEnd(bytes("data: a\n"))).toBe(0);
    expect(lastEventEnd(bytes(""))).toBe(0);
  });
});
