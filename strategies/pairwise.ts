// The pairwise strategy: candidates compared two at a time by the judge, in a knockout or a round-robin tournament.
import { z } from "zod";
import { knockout } from "./knockout";
import { roundRobin } from "./round-robin";
import type { Strategy } from "./types";

export const pairwiseOptions = z.object({
  strategy: z.literal("pairwise"),
  tournament: z.enum(["auto", "knockout", "round_robin"]).default("auto"),
});

/** Up to this many candidates, auto plays round-robin (more accurate, N(N-1) calls); above, knockout (2(N-1)). */
export const ROUND_ROBIN_MAX = 4;

export type PairwiseOptions = z.infer<typeof pairwiseOptions>;

export const pairwise: Strategy<PairwiseOptions> = {
  select(candidates, options, ctx) {
    const tournament = options.tournament === "auto" ? (ctx.expected <= ROUND_ROBIN_MAX ? "round_robin" : "knockout") : options.tournament;
    return tournament === "round_robin" ? roundRobin(candidates, ctx) : knockout(candidates, ctx);
  },
};
