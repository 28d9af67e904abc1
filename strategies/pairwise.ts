// The pairwise strategy: candidates compared two at a time by the judge, in a knockout or a round-robin tournament.
import { z } from "zod";
import { knockout } from "./knockout";
import type { Strategy } from "./types";

export const pairwiseOptions = z.object({
  strategy: z.literal("pairwise"),
  tournament: z.enum(["auto", "knockout"]).default("auto"),
});

export type PairwiseOptions = z.infer<typeof pairwiseOptions>;

export const pairwise: Strategy<PairwiseOptions> = {
  select(candidates, _options, ctx) {
    return knockout(candidates, ctx);
  },
};
