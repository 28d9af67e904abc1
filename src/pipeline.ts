// One reranked request: draw N candidates, let the strategy pick as they arrive, build the chat.completion.
import { selectWith } from "../strategies/index";
import { tieBreakOrder } from "../strategies/tiebreak";
import type { Candidate, ChatMessage, Selection } from "../strategies/types";
import { noCache, type JudgmentCache } from "./cache/types";
import { createCandidatePool, type CandidatePool } from "./candidates";
import { ProxyError } from "./errors";
import type { JudgeBackend } from "./judge/backend";
import { limitJudge, limitUpstream, unlimited, type Limiter } from "./limiter";
import { createJudgeSession, isJudgeUnavailable, type JudgeStats } from "./judge/session";
import type { ResolvedOptions } from "./options";
import { drawCandidates, type DrawSummary, type NSupport } from "./sample";
import type { Upstream } from "./upstream";
import { createChannel } from "./util/channel";

export interface PipelineDeps {
  generator: Upstream;
  judge: JudgeBackend;
  cache: JudgmentCache;
  nSupport: NSupport;
  onJudgeError: "fail_open" | "fail_closed";
  /** A fresh bound on upstream calls in flight for each request (Workers: 6); unset means no per-request bound. */
  limiter?: () => Limiter;
}

export interface PipelineOutcome {
  options: ResolvedOptions;
  pool: CandidatePool;
  selection: Selection;
  /** Every candidate index, best first (judged ones, then excluded ones). */
  ranking: number[];
  draw: DrawSummary;
  judge: JudgeStats;
  judgeModel: string;
  degraded: string[];
}

/** When the judge cannot be reached and the deployment fails open: a choice by the tie-break chain alone. */
function unjudgedSelection(candidates: Candidate[]): Selection {
  const ranked = [...candidates].sort((a, b) => tieBreakOrder(a, b));
  return {
    winner: ranked[0]!.index,
    ranking: ranked.map((c) => c.index),
    rationale: "The judge was unavailable; this candidate was chosen by the tie-break rule (shorter answer, then lower index), not by a judgment.",
  };
}

export async function runPipeline(
  body: Record<string, unknown>,
  options: ResolvedOptions,
  deps: PipelineDeps,
  clientSignal: AbortSignal,
): Promise<PipelineOutcome> {
  const strategyOptions = options.strategy;
  if (strategyOptions.strategy === "none") throw new Error("strategy none is a pass-through, not a pipeline");
  const controller = new AbortController();
  const signal = AbortSignal.any([clientSignal, controller.signal]);
  const limiter = deps.limiter?.() ?? unlimited;
  const draw = drawCandidates({ upstream: limitUpstream(deps.generator, limiter), body, n: options.n, nSupport: deps.nSupport, signal });
  const session = createJudgeSession(limitJudge(deps.judge, limiter), options.cache ? deps.cache : noCache);
  const pool = createCandidatePool();
  const toJudge = createChannel<Candidate>();
  const degraded: string[] = [];

  // The pool sees every candidate even if the strategy stops reading early; the strategy sees only judgeable ones.
  let firstJudgeable: (found: boolean) => void = () => undefined;
  const anyJudgeable = new Promise<boolean>((resolve) => (firstJudgeable = resolve));
  const pumped = (async () => {
    for await (const candidate of draw.candidates) {
      const admitted = pool.admit(candidate);
      if (admitted) {
        toJudge.push(admitted);
        firstJudgeable(true);
      }
    }
    toJudge.close();
    firstJudgeable(false);
  })();

  try {
    let selection: Selection | null = null;
    if (await anyJudgeable) {
      const conversation = body.messages as ChatMessage[];
      try {
        selection = await selectWith(strategyOptions, toJudge, { conversation, expected: options.n, judge: session.judge, signal });
      } catch (err) {
        if (!isJudgeUnavailable(err) || deps.onJudgeError === "fail_closed") throw err;
        await pumped;
        degraded.push("judge_unavailable");
        selection = unjudgedSelection(pool.judgeable);
      }
    }
    await Promise.all([pumped, draw.done]);
    if (draw.summary.received < options.min_candidates || pool.all.length === 0) {
      throw draw.summary.errors[0] ?? new ProxyError(502, "the generator returned no candidates", { type: "upstream_error", code: "no_candidates" });
    }
    if (draw.summary.errors.length > 0) degraded.push("candidates_lost");
    const excluded = pool.excludedRanking();
    selection ??= {
      winner: excluded[0]!,
      ranking: [],
      rationale: `No candidate was usable (${pool.excluded.get(excluded[0]!)}); returning the least bad one without judging.`,
    };
    if (selection.ranking.length === 0) degraded.push("no_usable_candidates");
    return {
      options,
      pool,
      selection,
      ranking: [...selection.ranking, ...excluded],
      draw: draw.summary,
      judge: session.stats,
      judgeModel: deps.judge.model,
      degraded,
    };
  } catch (err) {
    controller.abort();
    throw err;
  }
}
