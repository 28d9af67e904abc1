// Requests that need the same judgment at once share it (src/judge/session.ts): the judge is asked once, the others
// take it as a cache hit. One that cannot be shared (unreadable, failed, cancelled) leaves the others to ask themselves,
// and a request that leaves while it waits leaves alone.
import { describe, expect, it } from "vitest";
import { createMemoryCache } from "../../src/cache/memory";
import type { JudgeBackend } from "../../src/judge/backend";
import { createJudgeSession } from "../../src/judge/session";
import { ZERO_USAGE } from "../../src/openai/chat";
import type { PairVerdict } from "../../strategies/types";
import { candidate } from "../scripted-judge";

/** A judge whose answers wait until released; `answer` decides each one. */
function heldJudge(answer: () => PairVerdict | Error = () => ({ winner: "A", reasoning: "first", parsed: true })) {
  const waiting: (() => void)[] = [];
  let calls = 0;
  const usage = { prompt_tokens: 10, completion_tokens: 2, total_tokens: 12 };
  const backend: JudgeBackend = {
    identity: { backend: "held" },
    model: "held",
    templates: { pairwise: { id: "p", version: 1 }, rubric: { id: "r", version: 1 }, grounding: { id: "g", version: 1 } },
    comparePair: (_input, signal) => {
      calls += 1;
      return new Promise((resolve, reject) => {
        signal.addEventListener("abort", () => reject(signal.reason), { once: true });
        waiting.push(() => {
          const value = answer();
          if (value instanceof Error) reject(value);
          else resolve({ value, usage, calls: 1 });
        });
      });
    },
    scoreRubric: () => Promise.reject(new Error("not used")),
    checkGrounding: () => Promise.reject(new Error("not used")),
  };
  return { backend, release: () => waiting.splice(0).forEach((go) => go()), calls: () => calls };
}

const pair = { conversation: [{ role: "user", content: "q" }], a: candidate(0), b: candidate(1) };
const tick = () => new Promise((resolve) => setImmediate(resolve));

describe("judgments in flight", () => {
  it("asks the judge once for two requests that need the same judgment at once", async () => {
    const judge = heldJudge();
    const cache = createMemoryCache({ max_entries: 10, max_bytes: 1 << 20, ttl_ms: 60_000 });
    const [first, second] = [createJudgeSession(judge.backend, cache), createJudgeSession(judge.backend, cache)];
    const both = Promise.all([first.judge.compare(pair), (await tick(), second.judge.compare(pair))]);
    await tick();
    judge.release();
    expect(await both).toEqual([
      { winner: "A", reasoning: "first", parsed: true },
      { winner: "A", reasoning: "first", parsed: true },
    ]);
    expect(judge.calls()).toBe(1);
    expect(first.stats).toMatchObject({ calls: 1, cache_hits: 0 });
    expect(second.stats).toMatchObject({ calls: 0, cache_hits: 1, usage: ZERO_USAGE });
  });

  it("leaves the waiting request to ask for itself when the judgment it waited for was unreadable or failed", async () => {
    for (const answer of [() => ({ winner: "tie" as const, reasoning: "?", parsed: false }), () => new Error("judge down")]) {
      const judge = heldJudge(answer);
      const cache = createMemoryCache({ max_entries: 10, max_bytes: 1 << 20, ttl_ms: 60_000 });
      const [first, second] = [createJudgeSession(judge.backend, cache), createJudgeSession(judge.backend, cache)];
      const firstDone = first.judge.compare(pair).catch(() => "failed");
      await tick();
      const secondDone = second.judge.compare(pair).catch(() => "failed");
      await tick();
      judge.release(); // the first one's answer: nothing to share
      await firstDone;
      await tick();
      expect(judge.calls()).toBe(2); // the second asked for itself
      judge.release();
      await secondDone;
      expect(second.stats.cache_hits).toBe(0);
    }
  });

  it("lets a waiting request leave when its own work ends, and the judgment go on for the one that asked", async () => {
    const judge = heldJudge();
    const cache = createMemoryCache({ max_entries: 10, max_bytes: 1 << 20, ttl_ms: 60_000 });
    const [first, second] = [createJudgeSession(judge.backend, cache), createJudgeSession(judge.backend, cache)];
    const firstDone = first.judge.compare(pair);
    await tick();
    const leaving = new AbortController();
    const secondDone = second.judge.compare(pair, leaving.signal);
    await tick();
    leaving.abort(new Error("client left"));
    await expect(secondDone).rejects.toThrow();
    judge.release();
    expect(await firstDone).toMatchObject({ winner: "A" });
    expect(judge.calls()).toBe(1);
  });

  it("shares nothing when asked not to (Workers)", async () => {
    const judge = heldJudge();
    const cache = createMemoryCache({ max_entries: 10, max_bytes: 1 << 20, ttl_ms: 60_000 });
    const [first, second] = [createJudgeSession(judge.backend, cache, undefined, undefined, false), createJudgeSession(judge.backend, cache, undefined, undefined, false)];
    const both = Promise.all([first.judge.compare(pair), (await tick(), second.judge.compare(pair))]);
    await tick();
    judge.release();
    await both;
    expect(judge.calls()).toBe(2);
  });
});
