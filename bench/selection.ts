// Selection quality: how often each strategy picks the truly best of N candidates under a noisy simulated judge, at
// what cost in judge calls and judge rounds on the critical path. `npm run bench:selection -- --help` for flags.
import { mkdirSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { knockout } from "../strategies/knockout";
import { pairwise } from "../strategies/pairwise";
import { roundRobin } from "../strategies/round-robin";
import type { Candidate, MatchRecord, Selection, StrategyContext } from "../strategies/types";
import { hashText, seededRandom } from "../test/sim/random";
import type { JudgeNoise } from "../test/sim/judge";
import { qualityJudge } from "./quality-judge";

type Contender = (candidates: AsyncIterable<Candidate>, ctx: StrategyContext) => Promise<Selection>;

/** The naive baseline: one judge call per match, candidates shown in arrival order. */
async function singleOrderMatch(a: Candidate, b: Candidate, ctx: StrategyContext, round: number): Promise<MatchRecord> {
  const verdict = await ctx.judge.compare({ conversation: ctx.conversation, a, b }, ctx.signal);
  const winner = verdict.winner === "B" ? b : a;
  const p = verdict.winner === "A" ? 1 : verdict.winner === "B" ? 0 : 0.5;
  return { a: a.index, b: b.index, winner: winner.index, verdicts: [verdict.winner, verdict.winner], consistent: true, p_a: p, decided_by: "judge", reasoning: "", round };
}

export const CONTENDERS: Record<string, Contender> = {
  "knockout, one order": (c, ctx) => knockout(c, ctx, singleOrderMatch),
  "knockout, both orders": (c, ctx) => knockout(c, ctx),
  "knockout, both orders, round-robin finale": (c, ctx) => knockout(c, ctx, undefined, {}),
  "round-robin, both orders": (c, ctx) => roundRobin(c, ctx),
  "default (pairwise auto)": (c, ctx) => pairwise.select(c, { strategy: "pairwise", tournament: "auto", rematches: 2, finale: "none" }, ctx),
};

export interface Cell {
  model: string;
  n: number;
  contender: string;
  trials: number;
  best_picked: number;
  ci95: number;
  mean_calls: number;
  mean_rounds: number;
}

async function* arrive(candidates: Candidate[]): AsyncGenerator<Candidate> {
  yield* candidates;
}

export async function runCell(n: number, contender: string, noise: JudgeNoise, trials: number, seed: number): Promise<Cell> {
  let picked = 0;
  let calls = 0;
  let rounds = 0;
  for (let trial = 0; trial < trials; trial++) {
    // The same qualities for every contender in a trial (a paired comparison); the judge's dice differ per contender.
    const draw = seededRandom(hashText(`${seed}:${n}:${trial}`));
    const quality = Array.from({ length: n }, () => draw());
    const candidates = quality.map((_, index) => ({ index, text: `candidate ${index}`, message: {}, finish_reason: "stop", duplicates: [] }));
    const judge = qualityJudge(quality, noise, seededRandom(hashText(`${seed}:${n}:${trial}:${contender}`)));
    const ctx = { conversation: [], expected: n, judge, signal: new AbortController().signal };
    const selection = await CONTENDERS[contender]!(arrive(candidates), ctx);
    if (quality[selection.winner] === Math.max(...quality)) picked += 1;
    calls += judge.calls;
    rounds += selection.rounds ?? 0;
  }
  const p = picked / trials;
  return {
    model: noise.model === "gap" ? `gap (tau ${noise.tau})` : `flat (accuracy ${noise.accuracy})`,
    n,
    contender,
    trials,
    best_picked: p,
    ci95: 1.96 * Math.sqrt((p * (1 - p)) / trials),
    mean_calls: calls / trials,
    mean_rounds: rounds / trials,
  };
}

export function table(cells: Cell[]): string {
  const rows = cells.map(
    (c) =>
      `| ${c.model} | ${c.n} | ${c.contender} | ${(100 * c.best_picked).toFixed(1)} ± ${(100 * c.ci95).toFixed(1)} | ` +
      `${c.mean_calls.toFixed(1)} | ${c.mean_rounds.toFixed(2)} |`,
  );
  return ["| judge model | N | strategy | best picked % (95% CI) | judge calls | critical-path rounds |", "| --- | --- | --- | --- | --- | --- |", ...rows].join("\n");
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      trials: { type: "string", default: "2000" },
      seed: { type: "string", default: "1" },
      n: { type: "string", default: "2,4,8,16" },
      models: { type: "string", default: "flat,gap" },
      accuracy: { type: "string", default: "0.8" },
      bias: { type: "string", default: "0.15" },
      tau: { type: "string", default: "0.1" },
      out: { type: "string", default: "bench/out" },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    console.log("npm run bench:selection -- [--trials 2000] [--seed 1] [--n 2,4,8,16] [--models flat,gap] [--accuracy 0.8] [--bias 0.15] [--tau 0.1] [--out bench/out]");
    return;
  }
  const trials = Number(values.trials);
  const cells: Cell[] = [];
  const started = Date.now();
  for (const model of values.models.split(",") as ("flat" | "gap")[]) {
    const noise: JudgeNoise = { model, accuracy: Number(values.accuracy), bias: Number(values.bias), tau: Number(values.tau) };
    for (const n of values.n.split(",").map(Number)) {
      for (const contender of Object.keys(CONTENDERS)) cells.push(await runCell(n, contender, noise, trials, Number(values.seed)));
    }
  }
  console.log(table(cells));
  console.log(`\n${trials} trials per cell, bias ${values.bias}, seed ${values.seed}, ${((Date.now() - started) / 1000).toFixed(1)} s`);
  mkdirSync(values.out, { recursive: true });
  writeFileSync(`${values.out}/selection.json`, JSON.stringify({ settings: values, cells }, null, 2));
}

if (process.argv[1]?.endsWith("selection.ts")) void main();
