// Registry of strategies keyed by the options' discriminant: adding a schema branch without a strategy fails to compile.
import { z } from "zod";
import { pairwise, pairwiseOptions } from "./pairwise";
import type { Strategy } from "./types";

const noneOptions = z.object({ strategy: z.literal("none") });

/** Every strategy's own options, as one discriminated union on `strategy`. */
export const strategyOptions = z.discriminatedUnion("strategy", [noneOptions, pairwiseOptions]);

export type StrategyOptions = z.infer<typeof strategyOptions>;
export type StrategyName = StrategyOptions["strategy"];
export type JudgedStrategyName = Exclude<StrategyName, "none">;

type Registry = { [Name in JudgedStrategyName]: Strategy<Extract<StrategyOptions, { strategy: Name }>> };

export const strategies: Registry = { pairwise };

export const strategyNames: readonly StrategyName[] = strategyOptions.options.map((o) => o.shape.strategy.value);
