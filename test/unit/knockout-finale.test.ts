// The round-robin finale: once every candidate is in and few are left, the survivors meet all at once. It must still
// find the best, rank everyone once, shorten the critical path, and stay within verdict.max_judge_calls.
import { describe, expect, it } from "vitest";
import { knockout } from "../../strategies/knockout";
import { pairwise } from "../../strategies/pairwise";
import { arrive, byQuality, candidate, ctxWith, scriptedJudge } from "../scripted-judge";

const JUDGE_MS = 40;

/** Four candidates at once, a fifth while the second round is being played: three alive when it arrives. */
function lateFifth(quality: number[]) {
  const judge = scriptedJudge(byQuality(quality), JUDGE_MS);
  const pool = quality.map((_, i) => candidate(i));
  return { judge, candidates: () => arrive(pool, [0, 0, 0, 0, JUDGE_MS + JUDGE_MS / 2]) };
}

describe("knockout with a round-robin finale", () => {
  it.each([
    ["the late candidate", [1, 2, 3, 4, 9]],
    ["one of the survivors in a match", [9, 2, 3, 4, 1]],
    ["a candidate out before the finale never wins", [1, 9, 3, 4, 2]],
  ])("picks the best when the best is %s, and ranks every candidate once", async (_case, quality) => {
    const { judge, candidates } = lateFifth(quality);
    const selection = await knockout(candidates(), ctxWith(judge, 5), undefined, {});
    expect(selection.winner).toBe(quality.indexOf(9));
    expect([...selection.ranking].sort()).toEqual([0, 1, 2, 3, 4]);
  });

  it("ends one judge round after the last candidate instead of two, for one extra match", async () => {
    const quality = [1, 2, 3, 4, 9];
    const plain = lateFifth(quality);
    const bracket = await knockout(plain.candidates(), ctxWith(plain.judge, 5));
    const withFinale = lateFifth(quality);
    const finale = await knockout(withFinale.candidates(), ctxWith(withFinale.judge, 5), undefined, {});
    // Plain: 0v1 and 2v3, then their winners, then the fifth against that winner: three rounds in a row.
    expect(bracket.rounds).toBe(3);
    expect(plain.judge.calls).toHaveLength(2 * 4);
    // Finale: the fifth meets both players of the second-round match while it is still being played.
    expect(finale.rounds).toBe(2);
    expect(withFinale.judge.calls).toHaveLength(2 * 4 + 2);
    expect(finale.scores).toEqual({ 3: 1, 4: 2, 1: 0 });
  });

  it("does not hold a finale of more than six: all eight at once play the bracket down to six first", async () => {
    const quality = [5, 3, 8, 1, 7, 2, 6, 4];
    const judge = scriptedJudge(byQuality(quality), 5);
    const selection = await knockout(arrive(quality.map((_, i) => candidate(i))), ctxWith(judge, 8), undefined, {});
    expect(selection.winner).toBe(2);
    // Round one: 4 matches. When two have ended, six are alive (two winners, two matches still on): the finale adds
    // the 13 pairs not already playing.
    expect(judge.calls).toHaveLength(2 * (4 + 13));
    expect(Object.keys(selection.scores!)).toHaveLength(6);
    expect(selection.rounds).toBe(2);
  });

  it("is skipped when verdict.max_judge_calls leaves no room for its extra pairs", async () => {
    const quality = [1, 2, 3, 4, 9];
    const { judge, candidates } = lateFifth(quality);
    const options = { strategy: "pairwise" as const, tournament: "knockout" as const, rematches: 0, finale: "round_robin" as const, max_judge_calls: 8 };
    const selection = await pairwise.select(candidates(), options, ctxWith(judge, 5));
    expect(judge.calls).toHaveLength(8);
    expect(selection.rounds).toBe(3);
    expect(selection.winner).toBe(4);
  });
});
