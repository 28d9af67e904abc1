// Registry of strategies keyed by the options' discriminant: adding a schema branch without a strategy fails to compile.
import { z } from "zod";
import { consistency, consistencyOptions } from "./consistency";
import { guard, guardOptions } from "./guard";
import { pairwise, pairwiseOptions } from "./pairwise";
import { rubric, rubricOptions } from "./rubric";
import type { Candidate, Strategy, StrategyContext } from "./types";

const noneOptions = z.object({ strategy: z.literal("none") });

const branches = [noneOptions, pairwiseOptions, rubricOptions, consistencyOptions, guardOptions] as const;

/** Every strategy's own options, as one discriminated union on `strategy`. */
export const strategyOptions = z.discriminatedUnion("strategy", branches);

export type StrategyOptions = z.infer<typeof strategyOptions>;
export type StrategyName = StrategyOptions["strategy"];
export type JudgedStrategyName = Exclude<StrategyName, "none">;

type Registry = { [Name in JudgedStrategyName]: Strategy<Extract<StrategyOptions, { strategy: Name }>> };

export const strategies: Registry = { pairwise, rubric, consistency, guard };

export const strategyNames = branches.map((b) => b.shape.strategy.value) as [StrategyName, ...StrategyName[]];

/** The option fields each strategy reads (`strategy` included). */
export const fieldsOf: Record<StrategyName, ReadonlySet<string>> = Object.fromEntries(
  branches.map((b): [StrategyName, ReadonlySet<string>] => [b.shape.strategy.value, new Set(Object.keys(b.shape))]),
) as Record<StrategyName, ReadonlySet<string>>;

type OptionalFields<Shape extends z.ZodRawShape> = {
  [K in Exclude<keyof Shape, "strategy">]: z.ZodOptional<Shape[K] extends z.ZodDefault<infer Inner> ? Inner : Shape[K]>;
};

/** A strategy's own fields, optional and without their defaults. */
function optionalFields<Shape extends z.ZodRawShape>(branch: z.ZodObject<Shape>): OptionalFields<Shape> {
  const fields = Object.entries(branch.shape)
    .filter(([name]) => name !== "strategy")
    .map(([name, field]) => [name, (field instanceof z.ZodDefault ? (field.unwrap() as z.ZodType) : (field as z.ZodType)).optional()]);
  return Object.fromEntries(fields) as OptionalFields<Shape>;
}

/**
 * Every strategy-specific field, so a request, a header, a virtual model or the config's defaults can each set it and
 * the first one set wins. Defaults apply when the chosen branch parses.
 */
export const strategyFields = {
  ...optionalFields(pairwiseOptions),
  ...optionalFields(rubricOptions),
  ...optionalFields(consistencyOptions),
  ...optionalFields(guardOptions),
};

/**
 * The fewest judge calls a pairwise tournament of `n` candidates can be played in, both orders of every match:
 * max_judge_calls below it cannot be kept.
 */
export function leastJudgeCalls(n: number, tournament: string | undefined): number {
  return tournament === "round_robin" ? n * (n - 1) : 2 * (n - 1);
}

/** Runs the strategy the options name (the registry's typing cannot follow a union through an index by itself). */
export function selectWith(options: Exclude<StrategyOptions, { strategy: "none" }>, candidates: AsyncIterable<Candidate>, ctx: StrategyContext) {
  const strategy = strategies[options.strategy] as Strategy<typeof options>;
  return strategy.select(candidates, options, ctx);
}
