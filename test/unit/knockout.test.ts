// Knockout: the best candidate wins, 2(N-1) judge calls, DESIGN.md's consistency rule, and no silent index 0.
import { describe, expect, it } from "vitest";
import { knockout } from "../../strategies/knockout";
import type { PairVerdict } from "../../strategies/types";
import { playMatch } from "../../strategies/match";
import { arrive, byQuality, candidate, ctxWith, scriptedJudge } from "../scripted-judge";

describe("knockout", () => {
  it.each([2, 3, 4, 5, 8, 13])("finds the best of %i with 2(N-1) judge calls", async (n) => {
    const quality = Array.from({ length: n }, (_, i) => (i * 7919) % 101);
    // A judge that takes a little time, as real ones do: all candidates are in before the first match ends.
    const judge = scriptedJudge(byQuality(quality), 2);
    const pool = quality.map((_, i) => candidate(i));
    const selection = await knockout(arrive(pool), ctxWith(judge));
    const best = quality.indexOf(Math.max(...quality));
    expect(selection.winner).toBe(best);
    expect(selection.ranking[0]).toBe(best);
    expect([...selection.ranking].sort((a, b) => a - b)).toEqual(pool.map((c) => c.index));
    expect(judge.calls).toHaveLength(2 * (n - 1));
    expect(selection.matches).toHaveLength(n - 1);
    expect(selection.rounds).toBe(Math.ceil(Math.log2(n)));
  });

  it("plays for the places a client asks for, so its second choice is the second best whatever order the candidates came in", async () => {
    const quality = [40, 30, 20, 10, 35, 5];
    for (const delays of [[0, 20, 60, 100, 140, 180], [180, 140, 100, 60, 20, 0], [0, 0, 0, 0, 0, 0]]) {
      for (const choices of [1, 2, 3]) {
        const judge = scriptedJudge(byQuality(quality));
        const pool = quality.map((_, i) => candidate(i));
        const selection = await knockout(arrive(pool, delays), { ...ctxWith(judge, pool.length), choices });
        const best = [...quality.keys()].sort((a, b) => quality[b]! - quality[a]!);
        expect([delays, choices, selection.ranking.slice(0, choices)]).toEqual([delays, choices, best.slice(0, choices)]);
        // One winner alone costs the bracket's matches only.
        if (choices === 1) expect(judge.calls).toHaveLength(2 * (pool.length - 1));
        expect(selection.matches!.length).toBe(judge.calls.length / 2);
      }
    }
  });

  it("plays each place among those only placed candidates beat, and keeps its winner when a playoff fails", async () => {
    // Every place of eight: far fewer calls than a round-robin's 56, and each pair judged once at most.
    const quality = [5, 80, 20, 60, 40, 70, 10, 30];
    const judge = scriptedJudge(byQuality(quality));
    const all = await knockout(arrive(quality.map((_, i) => candidate(i))), { ...ctxWith(judge, 8), choices: 8 });
    expect(all.ranking).toEqual([...quality.keys()].sort((a, b) => quality[b]! - quality[a]!));
    const pairs = all.matches!.map((m) => [m.a, m.b].sort().join(":"));
    expect(new Set(pairs).size).toBe(pairs.length);
    expect(judge.calls.length).toBeLessThan(40);
    // A judge that fails only on the playoff for second place: the winner stands.
    const failing = scriptedJudge(byQuality([40, 30, 20, 10]));
    const compare = failing.compare.bind(failing);
    const flaky = { ...failing, compare: (input: Parameters<typeof compare>[0], signal?: AbortSignal) => {
      const pair = [input.a.index, input.b.index].sort().join(":");
      return pair === "1:2" || pair === "1:3" || pair === "2:3" ? Promise.reject(new Error("judge 503")) : compare(input, signal);
    } };
    const kept = await knockout(arrive([0, 1, 2, 3].map((i) => candidate(i))), { ...ctxWith(flaky), choices: 2 });
    expect(kept.winner).toBe(0);
  });

  it("ranks the candidates it did not place below whoever beat them, not by when they arrived", async () => {
    // The first to arrive wins every match as the others come one by one: none of them beat anyone.
    const quality = [40, 10, 20, 30];
    const selection = await knockout(arrive(quality.map((_, i) => candidate(i)), [0, 20, 40, 60]), ctxWith(scriptedJudge(byQuality(quality))));
    expect(selection.ranking[0]).toBe(0);
    // Unplayed among themselves, they are in the tie-break's order (equal lengths: lower index first), not the reverse
    // of their arrival.
    expect(selection.ranking).toEqual([0, 1, 2, 3]);
  });

  it("fails as soon as one match fails, without waiting for the matches still being judged or starting another", async () => {
    const judge = scriptedJudge(() => "A");
    let started = 0;
    const oneMatchFails = {
      ...judge,
      async compare(input: Parameters<typeof judge.compare>[0]): Promise<PairVerdict> {
        started += 1;
        // The first match fails once the second is being judged; the others take half a second.
        if (input.a.index === 0 && input.b.index === 1) throw await new Promise((resolve) => setTimeout(() => resolve(new Error("judge answered 400")), 20));
        await new Promise((resolve) => setTimeout(resolve, 500));
        return judge.compare(input);
      },
    };
    const begun = Date.now();
    await expect(knockout(arrive([0, 1, 2, 3].map((i) => candidate(i))), ctxWith(oneMatchFails))).rejects.toThrow("400");
    expect(Date.now() - begun).toBeLessThan(250);
    const atFailure = started;
    await new Promise((resolve) => setTimeout(resolve, 600)); // the match in progress ends: its winner meets nobody
    expect(started).toBe(atFailure);
  });

  it("fails as soon as a match fails, not when the next candidate comes (which may take seconds)", async () => {
    const judge = scriptedJudge(() => "A");
    const refusing = { ...judge, compare: async (): Promise<PairVerdict> => Promise.reject(new Error("judge answered 400")) };
    const begun = Date.now();
    // Two candidates at once, the third 1.5 s later: the first match fails while the third is still being written.
    await expect(knockout(arrive([0, 1, 2].map((i) => candidate(i)), [0, 0, 1_500]), ctxWith(refusing))).rejects.toThrow("400");
    expect(Date.now() - begun).toBeLessThan(250);
  });

  it("ranks those out in the same round by whom they lost to: beaten by the champion first", async () => {
    // The best (6) meets the second best (7) in the first round; the tie-break chain alone would put 0 first.
    const quality = [0, 1, 2, 3, 4, 5, 7, 6];
    const judge = scriptedJudge(byQuality(quality), 2);
    const selection = await knockout(arrive(quality.map((_, i) => candidate(i))), ctxWith(judge, 8));
    expect(selection.ranking[0]).toBe(6);
    const firstRound = selection.matches!.filter((m) => m.round === 1);
    const lostToChampion = firstRound.find((m) => m.winner === 6)!;
    const victimOfChampion = lostToChampion.a === 6 ? lostToChampion.b : lostToChampion.a;
    const outInFirstRound = firstRound.map((m) => (m.winner === m.a ? m.b : m.a));
    const order = selection.ranking.filter((i) => outInFirstRound.includes(i));
    expect(order[0]).toBe(victimOfChampion);
  });

  it("asks both orders of every match", async () => {
    const judge = scriptedJudge(byQuality([1, 2]));
    await knockout(arrive([candidate(0), candidate(1)]), ctxWith(judge));
    expect(judge.calls).toEqual(expect.arrayContaining([{ a: 0, b: 1 }, { a: 1, b: 0 }]));
  });

  it("needs no judge for a single candidate", async () => {
    const judge = scriptedJudge(() => "A");
    const selection = await knockout(arrive([candidate(3)]), ctxWith(judge));
    expect(selection.winner).toBe(3);
    expect(judge.calls).toHaveLength(0);
  });

  it("starts matching candidates that arrive early while a slow one is still coming", async () => {
    const judge = scriptedJudge(byQuality([3, 2, 1]));
    const started: number[] = [];
    const timed = { ...judge, compare: (input: Parameters<typeof judge.compare>[0]) => (started.push(Date.now()), judge.compare(input)) };
    const t0 = Date.now();
    await knockout(arrive([candidate(0), candidate(1), candidate(2)], [0, 0, 150]), ctxWith(timed));
    expect(started[0]! - t0).toBeLessThan(100);
  });
});

describe("a match in both orders", () => {
  const a = candidate(0, "a longer answer");
  const b = candidate(1, "short");

  it("is won when both orders agree", async () => {
    const match = await playMatch(a, b, ctxWith(scriptedJudge(byQuality([1, 0]))), 1);
    expect(match).toMatchObject({ winner: 0, consistent: true, decided_by: "judge", verdicts: ["A", "A"], p_a: 1 });
  });

  it("is a tie when the orders disagree (position bias), broken by the shorter answer, not by index", async () => {
    const match = await playMatch(a, b, ctxWith(scriptedJudge(() => "A")), 1);
    expect(match).toMatchObject({ winner: 1, consistent: false, decided_by: "shorter_answer", verdicts: ["A", "B"], p_a: 0.5 });
  });

  it("goes to an answer over a refusal given in its own field, though the refusal is shorter", async () => {
    // Structured output: a model declining writes `refusal` and no content; the answer beside it fits the schema.
    const answer = candidate(0, '{"name": "Ada", "age": 36}');
    const refusal = { ...candidate(1, "I can't help with that."), message: { role: "assistant", content: null, refusal: "I can't help with that." } };
    for (const [x, y] of [[answer, refusal], [refusal, answer]] as const) {
      const match = await playMatch(x, y, ctxWith(scriptedJudge(() => "A")), 1);
      expect(match).toMatchObject({ winner: 0, consistent: false, decided_by: "answer_over_refusal" });
    }
  });

  it("falls to the lower index only when everything else is equal", async () => {
    const match = await playMatch(candidate(5, "same"), candidate(2, "same"), ctxWith(scriptedJudge(() => "tie")), 1);
    expect(match).toMatchObject({ winner: 2, decided_by: "lower_index" });
  });

  it("takes the other verdict at half weight when one order is a tie", async () => {
    const judge = scriptedJudge((x) => (x.index === 0 ? "tie" : "A"));
    const match = await playMatch(a, b, ctxWith(judge), 1);
    expect(match).toMatchObject({ winner: 1, decided_by: "judge_half_weight", verdicts: ["tie", "B"], p_a: 0.25 });
  });

  it("uses the soft score from logprobs to break a split decision", async () => {
    const judge = scriptedJudge((x) =>
      x.index === 0 ? { winner: "A", reasoning: "", parsed: true, pA: 0.9 } : { winner: "A", reasoning: "", parsed: true, pA: 0.6 },
    );
    const match = await playMatch(a, b, ctxWith(judge), 1);
    // p(a beats b) = (0.9 + (1 - 0.6)) / 2 = 0.65
    expect(match.p_a).toBeCloseTo(0.65);
    expect(match).toMatchObject({ winner: 0, decided_by: "soft_score", consistent: false });
  });
});
