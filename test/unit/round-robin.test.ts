// Round-robin: all pairs in one parallel round, Copeland then soft Borda, and an early stop once the leader is safe.
import { describe, expect, it } from "vitest";
import { pairwise } from "../../strategies/pairwise";
import { roundRobin } from "../../strategies/round-robin";
import type { Candidate, PairVerdict } from "../../strategies/types";
import { arrive, byQuality, candidate, ctxWith, scriptedJudge } from "../scripted-judge";

describe("round-robin", () => {
  it("plays every pair in both orders, N(N-1) calls, when no one is safe early", async () => {
    // A cycle 0 > 1 > 2 > 0 keeps every candidate catchable until the last match.
    const beats: Record<string, boolean> = { "0-1": true, "1-2": true, "2-0": true };
    const judge = scriptedJudge((a, b) => (beats[`${a.index}-${b.index}`] ? "A" : beats[`${b.index}-${a.index}`] ? "B" : "tie"));
    const selection = await roundRobin(arrive([candidate(0, "aaa"), candidate(1, "bb"), candidate(2, "cccc")]), ctxWith(judge));
    expect(judge.calls).toHaveLength(6);
    expect(selection.matches).toHaveLength(3);
    expect(selection.rounds).toBe(1);
    // Copeland 1 each; Borda 1 each; the tie-break chain picks the shorter answer, and says so nowhere silently.
    expect(selection.winner).toBe(1);
  });

  it("counts a win that one order called a tie at half weight: 0.75 against 0.25", async () => {
    // 0 beats 1 only when shown first (the other order is a tie); 2 loses to both outright.
    const judge = scriptedJudge((a, b) => (a.index === 0 && b.index === 1 ? "A" : a.index === 1 && b.index === 0 ? "tie" : a.index === 2 ? "B" : "A"));
    const selection = await roundRobin(arrive([candidate(0), candidate(1), candidate(2)]), ctxWith(judge));
    expect(selection.matches!.find((m) => m.a + m.b === 1)).toMatchObject({ winner: 0, decided_by: "judge_half_weight" });
    expect(selection.scores).toEqual({ 0: 1.75, 1: 1.25, 2: 0 });
  });

  it("ranks by Copeland score", async () => {
    const quality = [2, 9, 5, 7];
    const judge = scriptedJudge(byQuality(quality), 1);
    const selection = await roundRobin(arrive(quality.map((_, i) => candidate(i))), ctxWith(judge));
    expect(selection.winner).toBe(1);
    expect(selection.ranking).toEqual([1, 3, 2, 0]);
  });

  it("stops once the leader cannot be caught, cancelling the matches still waiting", async () => {
    const quality = [9, 1, 2, 3, 4, 5];
    // Matches involving candidate 0 finish first; the rest are slow, so the leader is safe before they end.
    const judge = scriptedJudge(byQuality(quality));
    const slowOthers = {
      ...judge,
      async compare(input: Parameters<typeof judge.compare>[0], signal?: AbortSignal): Promise<PairVerdict> {
        const fast = input.a.index === 0 || input.b.index === 0;
        await new Promise((resolve, reject) => {
          const timer = setTimeout(resolve, fast ? 1 : 200);
          signal?.addEventListener("abort", () => (clearTimeout(timer), reject(new Error("aborted"))));
        });
        return judge.compare(input);
      },
    };
    const started = Date.now();
    const selection = await roundRobin(arrive(quality.map((_, i) => candidate(i))), ctxWith(slowOthers, 6));
    expect(selection.winner).toBe(0);
    expect(Date.now() - started).toBeLessThan(150);
    expect(judge.calls.length).toBe(2 * 5);

    // A client that asks for three choices gets the judge's own ranking of the alternatives: every match is played.
    judge.calls.length = 0;
    const three = await roundRobin(arrive(quality.map((_, i) => candidate(i))), { ...ctxWith(slowOthers, 6), choices: 3 });
    expect(judge.calls.length).toBe(6 * 5);
    expect(three.ranking.slice(0, 3)).toEqual([0, 5, 4]);
  });

  it("ends a judge call still running when its match fails through the other order, not leaving it to the request", async () => {
    const judge = scriptedJudge(() => "A");
    let otherOrder: AbortSignal | undefined;
    const oneOrderFails = {
      ...judge,
      async compare(input: Parameters<typeof judge.compare>[0], signal?: AbortSignal): Promise<PairVerdict> {
        if (input.a.index === 0) throw new Error("judge answered 400");
        otherOrder = signal;
        await new Promise((resolve) => signal?.addEventListener("abort", resolve, { once: true })); // until stopped
        return judge.compare(input);
      },
    };
    const request = new AbortController(); // stays open: only the round-robin can stop the other order
    await expect(roundRobin(arrive([candidate(0), candidate(1)]), { ...ctxWith(oneOrderFails, 2), signal: request.signal })).rejects.toThrow("400");
    expect(otherOrder?.aborted).toBe(true);
  });

  it("fails as soon as one match fails, ending the matches still being judged instead of paying for them", async () => {
    const judge = scriptedJudge(() => "A");
    let stopped = 0;
    let finished = 0;
    const oneMatchFails = {
      ...judge,
      async compare(input: Parameters<typeof judge.compare>[0], signal?: AbortSignal): Promise<PairVerdict> {
        if (input.a.index === 0 && input.b.index === 1) throw new Error("judge answered 400");
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(resolve, 500);
          signal?.addEventListener("abort", () => (clearTimeout(timer), stopped++, reject(signal.reason)), { once: true });
        });
        finished++;
        return judge.compare(input);
      },
    };
    const started = Date.now();
    await expect(roundRobin(arrive([0, 1, 2, 3].map((i) => candidate(i))), ctxWith(oneMatchFails))).rejects.toThrow("400");
    expect(Date.now() - started).toBeLessThan(250);
    expect(finished).toBe(0);
    expect(stopped).toBeGreaterThan(0);
  });

  it("orders two level on Copeland score by the judge's verdict on their own match", async () => {
    // 1 beats all; 0 and 3 both win twice, and 3 beat 0, so 3 ranks above it (the tie-break chain would put 0 first).
    const beats = new Set(["1>0", "1>2", "1>3", "1>4", "0>2", "0>4", "3>0", "3>2", "4>3", "2>4"]);
    const judge = scriptedJudge((a, b) => (beats.has(`${a.index}>${b.index}`) ? "A" : "B"));
    const selection = await roundRobin(arrive([0, 1, 2, 3, 4].map((i) => candidate(i, "same length"))), ctxWith(judge), undefined);
    expect(selection.ranking.slice(0, 3)).toEqual([1, 3, 0]);
  });

  it("uses soft Borda to order equal Copeland scores", async () => {
    const soft = (a: Candidate, b: Candidate): PairVerdict => {
      // Every match is split across orders (a tie), but the logprobs lean towards candidate 2.
      const p = a.index === 2 ? 0.9 : b.index === 2 ? 0.1 : 0.5;
      return { winner: "A", reasoning: "", parsed: true, pA: p };
    };
    const selection = await roundRobin(arrive([candidate(0, "x"), candidate(1, "y"), candidate(2, "longest")]), ctxWith(scriptedJudge(soft)));
    expect(selection.winner).toBe(2);
  });
});

describe("pairwise tournament choice", () => {
  it("plays the tournament asked for", async () => {
    const judge4 = scriptedJudge(() => "tie");
    await pairwise.select(arrive([0, 1, 2, 3].map((i) => candidate(i))), { strategy: "pairwise", tournament: "round_robin", rematches: 0, finale: "none" }, ctxWith(judge4, 4));
    expect(judge4.calls).toHaveLength(12);
    const judge5 = scriptedJudge(() => "tie", 1);
    await pairwise.select(arrive([0, 1, 2, 3, 4].map((i) => candidate(i))), { strategy: "pairwise", tournament: "knockout", rematches: 0, finale: "none" }, ctxWith(judge5, 5));
    expect(judge5.calls).toHaveLength(8);
  });
});
