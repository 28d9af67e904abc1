// Rematches: a split verdict is replayed while the request's spare judge calls last; logprobs can settle it instead.
import { describe, expect, it } from "vitest";
import { playMatch } from "../../strategies/match";
import { pairwise } from "../../strategies/pairwise";
import type { PairInput, PairVerdict } from "../../strategies/types";
import { arrive, candidate, ctxWith, scriptedJudge } from "../scripted-judge";

/** Always names the answer shown first: every match splits. */
const positionBiased = () => "A" as const;

describe("rematch on split verdicts", () => {
  it("replays a split match with a new attempt number and spends two spare calls per replay", async () => {
    const attempts: number[] = [];
    const judge = scriptedJudge(positionBiased);
    const recording = { ...judge, compare: (input: PairInput) => (attempts.push(input.attempt ?? 0), judge.compare(input)) };
    const budget = { spare: 10 };
    const match = await playMatch(candidate(0), candidate(1), ctxWith(recording), 1, { rematches: 2, budget, softMargin: 0.1 });
    expect(attempts).toEqual([0, 0, 1, 1, 2, 2]);
    expect(budget.spare).toBe(6);
    expect(match.rematches).toBe(2);
    expect(match.decided_by).toBe("lower_index");
  });

  it("stops replaying once the orders agree", async () => {
    let call = 0;
    const judge = scriptedJudge((a) => (++call <= 2 ? "A" : a.index === 1 ? "A" : "B"));
    const match = await playMatch(candidate(0), candidate(1), ctxWith(judge), 1, { rematches: 3, budget: { spare: 10 }, softMargin: 0.1 });
    expect(judge.calls).toHaveLength(4);
    expect(match).toMatchObject({ winner: 1, consistent: true, rematches: 1, decided_by: "judge" });
  });

  it("does not replay a tie the judge gave in both orders, and calls unreadable answers no agreement", async () => {
    const tied = scriptedJudge(() => "tie");
    const tie = await playMatch(candidate(0), candidate(1), ctxWith(tied), 1, { rematches: 2, budget: { spare: 10 }, softMargin: 0.1 });
    expect(tied.calls).toHaveLength(2);
    expect(tie).toMatchObject({ verdicts: ["tie", "tie"], consistent: true });
    expect(tie).not.toHaveProperty("rematches");
    const unreadable = scriptedJudge((): PairVerdict => ({ winner: "tie", reasoning: "unparseable judge answer: ?", parsed: false }));
    const unread = await playMatch(candidate(0), candidate(1), ctxWith(unreadable), 1, { rematches: 2, budget: { spare: 10 }, softMargin: 0.1 });
    expect(unreadable.calls).toHaveLength(2);
    expect(unread.consistent).toBe(false);
  });

  it("does not replay when the budget is spent", async () => {
    const judge = scriptedJudge(positionBiased);
    await playMatch(candidate(0), candidate(1), ctxWith(judge), 1, { rematches: 2, budget: { spare: 1 }, softMargin: 0.1 });
    expect(judge.calls).toHaveLength(2);
  });

  it("lets a clear soft score settle a split without a replay", async () => {
    const leaning = (a: { index: number }): PairVerdict => ({ winner: "A", reasoning: "", parsed: true, pA: a.index === 0 ? 0.95 : 0.6 });
    const judge = scriptedJudge(leaning);
    const match = await playMatch(candidate(0), candidate(1), ctxWith(judge), 1, { rematches: 2, budget: { spare: 10 }, softMargin: 0.1 });
    expect(judge.calls).toHaveLength(2);
    expect(match).toMatchObject({ winner: 0, decided_by: "soft_score" });
  });
});

describe("the default pairwise strategy", () => {
  const auto = { strategy: "pairwise" as const, tournament: "auto" as const, rematches: 2, finale: "none" as const };

  it("spends at most 2(N-1) + 2*ceil((N-1)/2) judge calls", async () => {
    const judge = scriptedJudge(positionBiased, 1);
    await pairwise.select(arrive([0, 1, 2, 3, 4, 5, 6, 7].map((i) => candidate(i))), auto, ctxWith(judge, 8));
    expect(judge.calls).toHaveLength(14 + 8);
  });

  it("respects max_judge_calls", async () => {
    const judge = scriptedJudge(positionBiased, 1);
    await pairwise.select(arrive([0, 1, 2, 3].map((i) => candidate(i))), { ...auto, max_judge_calls: 8 }, ctxWith(judge, 4));
    expect(judge.calls).toHaveLength(8);
  });

  it("plays a plain knockout, 2(N-1) calls, when asked for knockout", async () => {
    const judge = scriptedJudge(positionBiased, 1);
    await pairwise.select(arrive([0, 1, 2, 3].map((i) => candidate(i))), { ...auto, tournament: "knockout" }, ctxWith(judge, 4));
    expect(judge.calls).toHaveLength(6);
  });
});
