// A judgment read back from the cache is checked before it is used. A shared cache (Redis, KV) holds whatever anyone
// with access wrote under verdict's keys, or an older verdict's shapes: anything that is not a judgment this version
// would have kept is a miss, and the judge is asked again. A forged PASS must not pass an answer through a guard.
import type { GroundingVerdict, PairVerdict, ScoreVerdict } from "../../strategies/types";
import { MAX_REASONING_CHARS } from "./backend";

/**
 * Reasoning as verdict keeps it: a string of bounded length. Each judge answer's is cut at MAX_REASONING_CHARS (with a
 * note of the cut), and one judgment may join two (Root Signals' pair: each answer's justification), with a few words.
 */
const keptReasoning = (text: unknown): boolean => typeof text === "string" && text.length <= 2 * MAX_REASONING_CHARS + 1_000;

/** Only readable judgments are kept (src/judge/session.ts), so a stored one says `parsed: true`. */
const kept = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && (value as { parsed?: unknown }).parsed === true;

export function isStoredPair(value: unknown): value is PairVerdict {
  if (!kept(value) || !keptReasoning(value.reasoning)) return false;
  const { winner, pA } = value;
  return (winner === "A" || winner === "B" || winner === "tie") && (pA === undefined || (typeof pA === "number" && pA >= 0 && pA <= 1));
}

export function isStoredScore(value: unknown, scale: number): value is ScoreVerdict {
  if (!kept(value) || !keptReasoning(value.justification)) return false;
  const { score, normalised } = value;
  return Number.isInteger(score) && (score as number) >= 1 && (score as number) <= scale
    && typeof normalised === "number" && normalised >= 0 && normalised <= 1;
}

export function isStoredGrounding(value: unknown): value is GroundingVerdict {
  return kept(value) && keptReasoning(value.reasoning) && (value.verdict === "PASS" || value.verdict === "FAIL");
}
