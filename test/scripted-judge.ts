// A judge for unit tests: answers each pair by a rule the test writes, and records every call.
import type { Candidate, GroundingInput, GroundingVerdict, Judge, PairInput, PairVerdict, PairWinner, ScoreInput, ScoreVerdict } from "../strategies/types";

export interface ScriptedJudge extends Judge {
  calls: { a: number; b: number }[];
}

export function scriptedJudge(
  rule: (a: Candidate, b: Candidate) => PairWinner | PairVerdict,
  delayMs = 0,
  grade: (c: Candidate, scale: number) => number = () => 1,
  ground: (input: GroundingInput) => "PASS" | "FAIL" = () => "PASS",
): ScriptedJudge {
  const calls: { a: number; b: number }[] = [];
  return {
    calls,
    async checkGrounding(input: GroundingInput): Promise<GroundingVerdict> {
      calls.push({ a: -1, b: -1 });
      if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
      const verdict = ground(input);
      return { verdict, reasoning: `checked: ${verdict}`, parsed: true };
    },
    async score({ candidate, scale }: ScoreInput): Promise<ScoreVerdict> {
      calls.push({ a: candidate.index, b: -1 });
      if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
      const score = grade(candidate, scale);
      return { score, normalised: (score - 1) / (scale - 1), justification: `graded ${score}`, parsed: true };
    },
    async compare({ a, b }: PairInput): Promise<PairVerdict> {
      calls.push({ a: a.index, b: b.index });
      if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
      const answer = rule(a, b);
      return typeof answer === "string" ? { winner: answer, reasoning: `${a.index} vs ${b.index}: ${answer}`, parsed: true } : answer;
    },
  };
}

export function candidate(index: number, text = `answer ${index}`): Candidate {
  return { index, text, message: { role: "assistant", content: text }, finish_reason: "stop", duplicates: [] };
}

export async function* arrive(candidates: Candidate[], delays: number[] = []): AsyncGenerator<Candidate> {
  for (const [i, c] of candidates.entries()) {
    if (delays[i]) await new Promise((r) => setTimeout(r, delays[i]));
    yield c;
  }
}

/** A judge that prefers the higher `quality` (by index lookup), regardless of order. */
export function byQuality(quality: number[]) {
  return (a: Candidate, b: Candidate): PairWinner => (quality[a.index]! >= quality[b.index]! ? "A" : "B");
}

export const ctxWith = (judge: Judge, expected = 4) => ({
  conversation: [{ role: "user", content: "q" }],
  expected,
  judge,
  signal: new AbortController().signal,
});
