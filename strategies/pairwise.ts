// The pairwise strategy: candidates compared two at a time by the judge, in a knockout or a round-robin tournament.
import { z } from "zod";
import { knockout } from "./knockout";
import { NO_REMATCH, playMatch, type MatchPolicy } from "./match";
import { roundRobin } from "./round-robin";
import type { Strategy } from "./types";

export const pairwiseOptions = z.object({
  strategy: z.literal("pairwise"),
  /** auto: a knockout with rematches on split verdicts (see bench/README.md for why it is the default). */
  tournament: z.enum(["auto", "knockout", "round_robin"]).default("auto"),
  /** Knockout only: how often a match whose two orders disagree may be replayed. */
  rematches: z.number().int().min(0).max(4).default(2),
  /** Knockout only: a cap on judge calls for the request; 2(N-1) are always needed, the rest pays for rematches. */
  max_judge_calls: z.number().int().min(2).max(10_000).optional(),
  /**
   * Knockout only: `round_robin` has the contestants still alive when the last candidate arrives all meet at once,
   * for less wait after the slowest candidate at the cost of more judge calls (strategies/knockout.ts).
   */
  finale: z.enum(["none", "round_robin"]).default("none"),
});

export type PairwiseOptions = z.infer<typeof pairwiseOptions>;

/**
 * Without a cap, one rematch (two calls) for every second match: at most about 3(N-1) calls in all, half again a plain
 * knockout. bench/README.md shows this buys round-robin's accuracy at a third of its calls for N = 8.
 */
function rematchPolicy(options: PairwiseOptions, expected: number): MatchPolicy {
  const matches = Math.max(0, expected - 1);
  const spare = options.max_judge_calls !== undefined ? options.max_judge_calls - 2 * matches : 2 * Math.ceil(matches / 2);
  return { rematches: options.rematches, budget: { spare: Math.max(0, spare), capped: options.max_judge_calls !== undefined }, softMargin: 0.1 };
}

export const pairwise: Strategy<PairwiseOptions> = {
  select(candidates, options, ctx) {
    if (options.tournament === "round_robin") {
      if (options.max_judge_calls === undefined) return roundRobin(candidates, ctx);
      const spare = options.max_judge_calls - ctx.expected * (ctx.expected - 1);
      return roundRobin(candidates, ctx, { ...NO_REMATCH, budget: { spare: Math.max(0, spare), capped: true } });
    }
    const rematches = options.tournament === "auto" ? options : { ...options, rematches: 0 };
    const policy = rematchPolicy(rematches, ctx.expected);
    // Under a cap, the finale's extra pairs come out of the same spare calls as rematches.
    const finale = options.finale === "round_robin" ? (options.max_judge_calls !== undefined ? { spare: policy.budget } : {}) : undefined;
    // Under a cap the places behind the winner are not played for (their matches are not in the calls it allows): they
    // are ranked by how the bracket went.
    const placesCtx = options.max_judge_calls === undefined ? ctx : { ...ctx, choices: 1 };
    return knockout(candidates, placesCtx, (a, b, matchCtx, round) => playMatch(a, b, matchCtx, round, policy), finale);
  },
};
