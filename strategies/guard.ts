// Guard: every candidate is checked for groundedness against the documents, in parallel as candidates arrive; the
// inner strategy picks among those that pass. An answer the judge finds unsupported is never returned as grounded.
import { z } from "zod";
import { isBlank } from "../src/candidates";
import { ProxyError } from "../src/errors";
import { isJudgeUnavailable } from "../src/judge/session";
import { awaitedLater } from "../src/util/awaited-later";
import { createChannel } from "../src/util/channel";
import { normaliseContext, questionOf } from "./guard-context";
import { inOrder } from "./in-order";
import { isRefusal } from "./refusal";
import { tieBreakOrder } from "./tiebreak";
import type { Candidate, GroundingCheck, Selection, Strategy, StrategyContext } from "./types";

export const DEFAULT_ABSTENTION = "I can't answer that from the documents provided.";

export const guardOptions = z.object({
  strategy: z.literal("guard"),
  /** The documents; when absent the request's messages are searched (see strategies/guard-context.ts). */
  context: z
    .preprocess(
      (given) => (typeof given === "string" ? [given] : given),
      z
        .array(z.string("a document must be a string"), "must be a string or an array of strings")
        .min(1, "must hold at least one document")
        .max(256, "must hold at most 256 documents")
        // Blank documents would leave the guard to search the messages instead, without a word.
        .refine((documents) => documents.some((document) => /\S/.test(document)), "must hold some text: the documents are blank"),
    )
    .optional(),
  context_sources: z.array(z.enum(["tags", "system", "tool"])).min(1).default(["tags", "system", "tool"]),
  inner: z.enum(["pairwise", "rubric", "consistency"]).default("pairwise"),
  on_all_fail: z.enum(["abstain", "best_effort", "error"]).default("abstain"),
  abstain_message: z.string().trim().min(1).max(2_000).default(DEFAULT_ABSTENTION),
  /** Empty answers and refusals fail without a judge call. */
  prefilter: z.boolean().default(true),
  /** An unchecked answer is not a guarded answer: judge failures fail the request unless this says otherwise. */
  on_judge_error: z.enum(["fail_closed", "fail_open"]).default("fail_closed"),
});

export type GuardOptions = z.infer<typeof guardOptions>;

/**
 * The judge became unreachable partway (a judge_unavailable failure, as it is): with the checks made until then, so a
 * request that fails open can still keep to what they found.
 */
export class GuardInterrupted extends ProxyError {
  constructor(failure: ProxyError, readonly checks: GroundingCheck[]) {
    super(failure.status, failure.message, { type: failure.type, code: failure.code, param: failure.param, headers: failure.headers });
  }
}

/** No candidate passed and the request asked for an error rather than an abstention. */
export class UngroundedError extends Error {
  constructor(readonly checks: GroundingCheck[]) {
    super("no candidate answer is supported by the documents");
    this.name = "UngroundedError";
  }
}

function prefilterReason(candidate: Candidate): string | null {
  if (isBlank(candidate.text)) return "empty answer: nothing to check";
  if (isRefusal(candidate.text)) return "the answer is a refusal: nothing to check";
  return null;
}


export const guard: Strategy<GuardOptions> = {
  async select(candidates, options, ctx: StrategyContext): Promise<Selection> {
    const checks: GroundingCheck[] = [];
    try {
      return await checkThenSelect(candidates, options, ctx, checks);
    } catch (err) {
      // A judge failure comes once every check has settled (and been sorted): `checks` is final by then.
      if (isJudgeUnavailable(err)) throw new GuardInterrupted(err, checks);
      throw err;
    }
  },
};

/** The guard's work; `checks` fills as it goes, so a failure partway still has them. */
async function checkThenSelect(
  candidates: AsyncIterable<Candidate>,
  options: GuardOptions,
  ctx: StrategyContext,
  checks: GroundingCheck[],
): Promise<Selection> {
  const documents = normaliseContext(options.context);
  if (!documents || !ctx.selectInner) throw new Error("guard needs resolved documents and an inner strategy");
  const question = questionOf(ctx.conversation);
  const passing = createChannel<Candidate>();
  const seen: Candidate[] = [];
  let inner: Promise<Selection> | null = null;

  const check = async (candidate: Candidate): Promise<void> => {
    const reason = options.prefilter ? prefilterReason(candidate) : null;
    if (reason) return void checks.push({ index: candidate.index, verdict: "FAIL", reasoning: reason, prefiltered: true });
    const result = await ctx.judge.checkGrounding({ question, documents, answer: candidate.fullText ?? candidate.text, index: candidate.index }, ctx.signal);
    checks.push({ index: candidate.index, verdict: result.verdict, reasoning: result.reasoning });
    if (result.verdict !== "PASS") return;
    passing.push(candidate);
    // The inner strategy starts with the first grounded candidate, so judging overlaps with the remaining checks.
    inner ??= awaitedLater(ctx.selectInner!(passing));
  };

  const checking: Promise<void>[] = [];
  for await (const candidate of candidates) {
    seen.push(candidate);
    checking.push(awaitedLater(check(candidate)));
  }
  // Every check settles before a failure is passed on, so the checks handed along with it (GuardInterrupted) are all
  // that will ever be known: a request failing open must not return an answer whose FAIL was still on its way.
  const settled = await Promise.allSettled(checking);
  passing.close();
  checks.sort((a, b) => a.index - b.index);
  const failure = settled.find((outcome) => outcome.status === "rejected");
  if (failure) throw failure.reason;
  const failed = seen.filter((c) => !checks.some((k) => k.index === c.index && k.verdict === "PASS")).sort((a, b) => tieBreakOrder(a, b));

  if (inner) {
    const selection: Selection = await inner;
    const passed = checks.filter((k) => k.verdict === "PASS");
    // The inner strategy saw one answer and says it had nothing to judge; the reason it was alone is the checks.
    const rationale =
      passed.length === 1 && seen.length > 1
        ? `Only the answer of candidate ${passed[0]!.index}, of ${seen.length} distinct answers, was supported by the documents. The judge: ${passed[0]!.reasoning}`.trim()
        : selection.rationale;
    return { ...selection, rationale, ranking: [...selection.ranking, ...failed.map((c) => c.index)], grounded: true, checks };
  }
  if (options.on_all_fail === "error") throw new UngroundedError(checks);
  if (options.on_all_fail === "best_effort") {
    const selection = await ctx.selectInner(inOrder(seen));
    return { ...selection, rationale: `No candidate passed the groundedness check; best effort: ${selection.rationale}`, grounded: false, checks };
  }
  const firstJudged = checks.find((k) => !k.prefiltered) ?? checks[0];
  return {
    winner: -1,
    ranking: failed.map((c) => c.index),
    rationale: `No candidate was supported by the documents. ${firstJudged ? `The judge on candidate ${firstJudged.index}: ${firstJudged.reasoning}` : ""}`.trim(),
    grounded: false,
    checks,
    abstention: options.abstain_message,
  };
}
