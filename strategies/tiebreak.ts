// The one tie-break chain every strategy uses: soft score, rubric score, an answer over a refusal, shorter answer,
// lower index.
import { declined } from "../src/candidates";
import type { Candidate, TieBreakRule } from "./types";

export interface TieBreakHints {
  /** p(a beats b) in 0..1; 0.5 means no information. */
  softAOverB?: number;
  /** Known rubric scores by candidate index. */
  scores?: Record<number, number>;
}

const SOFT_EPSILON = 1e-6;

/** The rule's steps as rationales name them, when no judgment separated the candidates. */
export const TIE_BREAK_STEPS = "an answer over a refusal, then the shorter answer, then the lower index";

/** Decides between two candidates the judge could not separate, and says which rule did it. */
export function breakTie(a: Candidate, b: Candidate, hints: TieBreakHints = {}): { winner: Candidate; by: TieBreakRule } {
  const soft = hints.softAOverB;
  if (soft !== undefined && Math.abs(soft - 0.5) > SOFT_EPSILON) {
    return { winner: soft > 0.5 ? a : b, by: "soft_score" };
  }
  const scoreA = hints.scores?.[a.index];
  const scoreB = hints.scores?.[b.index];
  if (scoreA !== undefined && scoreB !== undefined && scoreA !== scoreB) {
    return { winner: scoreA > scoreB ? a : b, by: "rubric_score" };
  }
  // A refusal in its own field (structured output's) is short, and would win every tie on length: an answer the judge
  // could not tell from it is one the client can use.
  const refusedA = declined(a);
  if (refusedA !== declined(b)) return { winner: refusedA ? b : a, by: "answer_over_refusal" };
  if (a.text.length !== b.text.length) {
    return { winner: a.text.length < b.text.length ? a : b, by: "shorter_answer" };
  }
  return { winner: a.index < b.index ? a : b, by: "lower_index" };
}

/** Orders candidates that no judgment separates (used for ranking the unjudged tail). */
export function tieBreakOrder(a: Candidate, b: Candidate, scores?: Record<number, number>): number {
  return breakTie(a, b, { scores }).winner === a ? -1 : 1;
}
