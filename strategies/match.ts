// A pairwise match: the judge sees the pair in both orders at once; DESIGN.md's consistency rule settles it. A split
// verdict (the orders disagree) is the cheapest sign of a close or position-biased call: it may be replayed.
import { breakTie } from "./tiebreak";
import type { Candidate, MatchRecord, PairVerdict, PairWinner, StrategyContext } from "./types";

type Side = "a" | "b" | "tie";

/** Extra judge calls a request may still spend on rematches; shared by all matches of one selection. */
export interface RematchBudget {
  spare: number;
  /** A cap the request set (max_judge_calls): an unreadable answer asked for again is paid from `spare` too. */
  capped?: boolean;
}

/** Takes one spare call for asking again, when the budget is a cap; without a cap asking again is always allowed. */
function askAgainWithin(budget: RematchBudget): (() => boolean) | undefined {
  if (!budget.capped) return undefined;
  return () => {
    if (budget.spare < 1) return false;
    budget.spare -= 1;
    return true;
  };
}

export interface MatchPolicy {
  /** Replays allowed per match while the two orders disagree. */
  rematches: number;
  budget: RematchBudget;
  /** With logprobs, a split whose soft score leans further than this from 0.5 is settled without a rematch. */
  softMargin: number;
}

export const NO_REMATCH: MatchPolicy = { rematches: 0, budget: { spare: 0 }, softMargin: 0 };

/** Translates a verdict given with `first` shown as A into candidate terms. */
function sideOf(verdict: PairWinner, firstIsA: boolean): Side {
  if (verdict === "tie") return "tie";
  return (verdict === "A") === firstIsA ? "a" : "b";
}

/** p(the candidate shown as A wins), from logprobs when present, else from the hard verdict. */
function probFirstWins(v: PairVerdict): number {
  if (v.pA !== undefined) return v.pA;
  return v.winner === "A" ? 1 : v.winner === "B" ? 0 : 0.5;
}

const toPairWinner = (side: Side): PairWinner => (side === "a" ? "A" : side === "b" ? "B" : "tie");

interface Leg {
  forward: PairVerdict;
  backward: PairVerdict;
  first: Side;
  second: Side;
  /** p(a beats b) from this leg's two orders. */
  pA: number;
  outcome: Side;
  halfWeight: boolean;
}

async function playLeg(a: Candidate, b: Candidate, ctx: StrategyContext, attempt: number, budget: RematchBudget): Promise<Leg> {
  const { conversation, judge, signal } = ctx;
  const askAgain = askAgainWithin(budget);
  const [forward, backward] = await Promise.all([
    judge.compare({ conversation, a, b, attempt, ...(askAgain ? { askAgain } : {}) }, signal),
    judge.compare({ conversation, a: b, b: a, attempt, ...(askAgain ? { askAgain } : {}) }, signal),
  ]);
  const first = sideOf(forward.winner, true);
  const second = sideOf(backward.winner, false);
  const pA = (probFirstWins(forward) + (1 - probFirstWins(backward))) / 2;
  if (first === second) return { forward, backward, first, second, pA, outcome: first, halfWeight: false };
  if (first === "tie") return { forward, backward, first, second, pA, outcome: second, halfWeight: true };
  if (second === "tie") return { forward, backward, first, second, pA, outcome: first, halfWeight: true };
  return { forward, backward, first, second, pA, outcome: "tie", halfWeight: false };
}

/**
 * Only a split is replayed: the two orders named different winners. A tie the judge gave in both orders is its answer,
 * agreed with itself, and goes to the tie-break like any tie; so does a pair it could not be read on.
 */
function worthReplaying(leg: Leg, attempt: number, policy: MatchPolicy): boolean {
  const split = leg.first !== leg.second && leg.outcome === "tie";
  if (!split || attempt >= policy.rematches || policy.budget.spare < 2) return false;
  const hasSoftScore = leg.forward.pA !== undefined && leg.backward.pA !== undefined;
  return !(hasSoftScore && Math.abs(leg.pA - 0.5) > policy.softMargin);
}

export async function playMatch(
  a: Candidate,
  b: Candidate,
  ctx: StrategyContext,
  round: number,
  policy: MatchPolicy = NO_REMATCH,
): Promise<MatchRecord> {
  let attempt = 0;
  let leg = await playLeg(a, b, ctx, attempt, policy.budget);
  let softSum = leg.pA;
  while (worthReplaying(leg, attempt, policy)) {
    policy.budget.spare -= 2;
    attempt += 1;
    leg = await playLeg(a, b, ctx, attempt, policy.budget);
    softSum += leg.pA;
  }
  const pA = softSum / (attempt + 1);

  let winner: Candidate;
  let decidedBy: MatchRecord["decided_by"] = leg.halfWeight ? "judge_half_weight" : "judge";
  if (leg.outcome === "tie") {
    const broken = breakTie(a, b, { softAOverB: pA });
    winner = broken.winner;
    decidedBy = broken.by;
  } else {
    winner = leg.outcome === "a" ? a : b;
  }
  const won: Side = winner === a ? "a" : "b";
  return {
    a: a.index,
    b: b.index,
    winner: winner.index,
    verdicts: [toPairWinner(leg.first), toPairWinner(leg.second)],
    // Agreement is between answers the judge gave: an order whose answer could not be read agrees with nothing.
    consistent: leg.first === leg.second && leg.forward.parsed && leg.backward.parsed,
    // Six places are all a probability here means; more show the float sums it came from (0.19999999999999996).
    p_a: Math.round(pA * 1e6) / 1e6,
    decided_by: decidedBy,
    // The judge's own words for the outcome: the call that named the winner, else the first call.
    reasoning: leg.first === won ? leg.forward.reasoning : leg.second === won ? leg.backward.reasoning : leg.forward.reasoning || leg.backward.reasoning,
    round,
    ...(attempt > 0 ? { rematches: attempt } : {}),
  };
}
