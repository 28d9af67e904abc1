// A pairwise match: the judge sees the pair in both orders at once; DESIGN.md's consistency rule settles it.
import { breakTie } from "./tiebreak";
import type { Candidate, MatchRecord, PairVerdict, PairWinner, StrategyContext } from "./types";

type Side = "a" | "b" | "tie";

/** Translates a verdict given with `first` shown as A into candidate terms. */
function sideOf(verdict: PairWinner, firstIsA: boolean): Side {
  if (verdict === "tie") return "tie";
  const namedFirst = verdict === "A";
  return namedFirst === firstIsA ? "a" : "b";
}

/** p(the candidate shown as A wins), from logprobs when present, else from the hard verdict. */
function probFirstWins(v: PairVerdict): number {
  if (v.pA !== undefined) return v.pA;
  return v.winner === "A" ? 1 : v.winner === "B" ? 0 : 0.5;
}

function toPairWinner(side: Side): PairWinner {
  return side === "a" ? "A" : side === "b" ? "B" : "tie";
}

export async function playMatch(a: Candidate, b: Candidate, ctx: StrategyContext, round: number): Promise<MatchRecord> {
  const { conversation, judge, signal } = ctx;
  const [forward, backward] = await Promise.all([
    judge.compare({ conversation, a, b }, signal),
    judge.compare({ conversation, a: b, b: a }, signal),
  ]);
  const first = sideOf(forward.winner, true);
  const second = sideOf(backward.winner, false);
  const pA = (probFirstWins(forward) + (1 - probFirstWins(backward))) / 2;

  let outcome: Side = "tie";
  let decidedBy: MatchRecord["decided_by"] = "judge";
  if (first === second) outcome = first;
  else if (first === "tie") [outcome, decidedBy] = [second, "judge_half_weight"];
  else if (second === "tie") [outcome, decidedBy] = [first, "judge_half_weight"];

  let winner: Candidate;
  if (outcome === "tie") {
    const broken = breakTie(a, b, { softAOverB: pA });
    winner = broken.winner;
    decidedBy = broken.by;
  } else {
    winner = outcome === "a" ? a : b;
  }

  return {
    a: a.index,
    b: b.index,
    winner: winner.index,
    verdicts: [toPairWinner(first), toPairWinner(second)],
    consistent: first === second,
    p_a: pA,
    decided_by: decidedBy,
    reasoning: pickReasoning(winner === a ? "a" : "b", first, second, forward, backward),
    round,
  };
}

/** The judge's own words for the outcome: the call that named the winner, else the first call. */
function pickReasoning(won: Side, first: Side, second: Side, forward: PairVerdict, backward: PairVerdict): string {
  if (first === won) return forward.reasoning;
  if (second === won) return backward.reasoning;
  return forward.reasoning || backward.reasoning;
}
