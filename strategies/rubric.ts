// Rubric: each candidate graded on its own against a rubric (1..K, normalised to 0..1), all in parallel; the highest
// score wins, equal scores go down the tie-break chain.
import { z } from "zod";
import { awaitedLater } from "../src/util/awaited-later";
import { TIE_BREAK_STEPS, tieBreakOrder } from "./tiebreak";
import type { Candidate, ScoreVerdict, Strategy } from "./types";

export const DEFAULT_RUBRIC =
  "The response does what the user asked, is factually correct, complete without padding, and clearly written.";

export const rubricOptions = z.object({
  strategy: z.literal("rubric"),
  rubric: z.string().trim().min(1).max(20_000).default(DEFAULT_RUBRIC),
  scale: z.number().int().min(2).max(10).default(5),
});

export type RubricOptions = z.infer<typeof rubricOptions>;

export const rubric: Strategy<RubricOptions> = {
  async select(candidates, options, ctx) {
    const graded: Promise<[Candidate, ScoreVerdict]>[] = [];
    for await (const candidate of candidates) {
      const input = { conversation: ctx.conversation, candidate, rubric: options.rubric, scale: options.scale };
      graded.push(awaitedLater(ctx.judge.score(input, ctx.signal).then((verdict) => [candidate, verdict])));
    }
    const results = await Promise.all(graded);
    const scores = Object.fromEntries(results.map(([c, v]) => [c.index, v.normalised]));
    // A candidate whose grade the judge never gave readably (its score is the scale's middle) ranks after every graded
    // one: otherwise it could win over answers the judge did grade, without the judge having looked at it.
    const readable = new Set(results.filter(([, v]) => v.parsed).map(([c]) => c.index));
    const gradedFirst = (a: Candidate, b: Candidate) => Number(readable.has(b.index)) - Number(readable.has(a.index));
    const ranked = results.map(([c]) => c).sort((a, b) => gradedFirst(a, b) || scores[b.index]! - scores[a.index]! || tieBreakOrder(a, b, scores));
    const winner = ranked[0]!;
    const verdict = results.find(([c]) => c === winner)![1];
    // Tied with another graded answer; one whose grade was unreadable ranks after it whatever its stand-in score.
    const tied = ranked.filter((c) => readable.has(c.index) === readable.has(winner.index) && scores[c.index] === scores[winner.index]).length > 1;
    return {
      winner: winner.index,
      ranking: ranked.map((c) => c.index),
      // No grade read at all: the score is a stand-in, not the judge's.
      rationale: verdict.parsed
        ? `Scored ${verdict.score}/${options.scale}${tied ? ` (tied; chosen by the tie-break rule: ${TIE_BREAK_STEPS})` : ""}: ${verdict.justification}`
        : `No candidate's grade could be read from the judge; chosen by the tie-break rule (${TIE_BREAK_STEPS}): ${verdict.justification}`,
      scores,
      rounds: 1,
    };
  },
};
