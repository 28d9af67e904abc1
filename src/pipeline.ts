// One reranked request: draw N candidates, let the strategy pick as they arrive, build the chat.completion.
import { selectWith } from "../strategies/index";
import { TIE_BREAK_STEPS, tieBreakOrder } from "../strategies/tiebreak";
import { GuardInterrupted, UngroundedError, type GuardOptions } from "../strategies/guard";
import { inOrder } from "../strategies/in-order";
import type { Candidate, ChatMessage, GroundingCheck, Selection, StrategyContext } from "../strategies/types";
import { noCache, type JudgmentCache } from "./cache/types";
import { deadlineOf, type RequestScope } from "./budget";
import { admissionRules, createCandidatePool, type CandidatePool } from "./candidates";
import { ProxyError } from "./errors";
import type { InlineReasoning } from "./openai/chat";
import type { JudgeBackend } from "./judge/backend";
import { limitJudge, limitUpstream, unlimited, type Limiter } from "./limiter";
import { createJudgeSession, isJudgeUnavailable, judgeUnavailable, type JudgeStats } from "./judge/session";
import { recordDebugTrace, type DebugTrace } from "./observe/debug-trace";
import { noopProbe, type RequestProbe } from "./observe/probe";
import type { ResolvedOptions } from "./options";
import { drawCandidates, type DrawSummary, type NSupport } from "./sample";
import type { Upstream } from "./upstream";
import { awaitedLater } from "./util/awaited-later";
import { createChannel } from "./util/channel";
import { withFields } from "./util/with-fields";

export interface PipelineDeps {
  generator: Upstream;
  judge: JudgeBackend;
  cache: JudgmentCache;
  nSupport: NSupport;
  onJudgeError: "fail_open" | "fail_closed";
  /** Benchmarks only: hold every candidate until the draw is complete, to measure what pipelining saves. */
  collectFirst?: boolean;
  /** generator.stream_sampling: read the `n` call as a stream so early finishers are judged first. */
  streamSampling?: boolean;
  /** Takes configured keys out of a text: applied to candidates assembled from a streamed draw's deltas. */
  scrubKeys?: ((text: string) => string) | null;
  /** A fresh bound on upstream calls in flight for each request (Workers: 6); unset means no per-request bound. */
  limiter?: () => Limiter;
  /** Requests needing the same judgment at once share it (src/judge/session.ts); not on Workers. */
  shareJudgmentsInFlight?: boolean;
  /** The judge's queue: a request it would refuse now is refused before its candidates are drawn. */
  judgeQueue?: Pick<Upstream, "refusesNow">;
  /** limits.max_candidate_chars: a longer candidate is lost. */
  maxCandidateChars?: number;
  /** generator.inline_reasoning: where candidates write reasoning into their content. */
  inlineReasoning?: InlineReasoning;
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
  /** Why the judge was unavailable, when the request failed open without it. */
  judgeError?: ProxyError;
  /** Every candidate and judgment, when the request asked for verdict.trace. */
  trace?: DebugTrace;
  /**
   * The request asked for JSON (`response_format` json_schema or json_object): a guard's abstention then comes as the
   * message's `refusal`, as a model declines structured output, not as content that is not the JSON asked for.
   */
  wantsJson?: boolean;
}

/**
 * When judging gives way, failing open: a little before the request's deadline (the margin: 5% of what is left, 10 ms
 * to 1 s), so that a judge that never answers still leaves time to send an unjudged pick instead of the budget's 504.
 * Undefined when the request has no deadline.
 */
function judgingCutoff(signal: AbortSignal, now = Date.now()): { at: number; deadline: number; margin: number } | undefined {
  const deadline = deadlineOf(signal);
  if (deadline === undefined) return undefined;
  const margin = Math.min(1_000, Math.max(10, (deadline - now) * 0.05));
  return { at: deadline - margin, deadline, margin };
}

/**
 * The strategy's selection, or a judge failure once the cutoff has passed with every candidate in hand; `stop` ends
 * the judging left behind, with a reason that says time ran out (calls cut off are counted as timeouts). A generator
 * still drawing at the cutoff is not the judge's fault: the cut waits for the last draw, then leaves the judge half of
 * the margin (at least 20 ms before the deadline) for it; a draw that comes later still leaves the budget's 504. So
 * `stop` is called only once sampling has ended (runPipeline ends its whole scope with it).
 */
async function beforeCutoff(
  judging: Promise<Selection>,
  cutoff: { at: number; deadline: number; margin: number },
  sampling: { done: () => boolean; ended: Promise<unknown> },
  stop: (late: ProxyError) => void,
  endsOnStop: boolean,
): Promise<Selection> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let settled = false;
  const cut = new Promise<never>((_, reject) => {
    const fire = () => {
      if (settled) return;
      // Built only when the cut comes: an Error captures a stack, not worth paying for on every request.
      const late = new ProxyError(504, "the judge did not answer within the request's time budget", { type: "timeout_error", code: "judge_timeout" });
      stop(late);
      // A strategy that `endsOnStop` (the guard) fails with what it learnt before the stop, which the race below
      // takes a moment later: the checks that passed are what a guard failing open may still return.
      if (!endsOnStop) reject(judgeUnavailable(late));
    };
    const lastChance = () => {
      if (settled) return;
      timer = setTimeout(fire, Math.max(0, cutoff.deadline - Math.max(20, cutoff.margin / 2) - Date.now()));
    };
    timer = setTimeout(() => (sampling.done() ? fire() : void sampling.ended.then(lastChance, lastChance)), Math.max(0, cutoff.at - Date.now()));
  });
  try {
    return await Promise.race([awaitedLater(judging), cut]);
  } finally {
    settled = true;
    if (timer !== undefined) clearTimeout(timer);
  }
}

type InnerOptions = ResolvedOptions["inner"];

/** Without the judge: consistency keeps its vote (a tie broken by its rule); any other strategy, the tie-break rule. */
async function unjudgedPick(strategy: InnerOptions | ResolvedOptions["strategy"], candidates: Candidate[], ctx: StrategyContext): Promise<Selection> {
  if (strategy?.strategy === "consistency") return selectWith(withFields(strategy, { tie_break: "rule" as const }), inOrder(candidates), ctx);
  return unjudgedSelection(candidates);
}

/** When the judge cannot be reached and the deployment fails open: a choice by the tie-break chain alone. */
function unjudgedSelection(candidates: Candidate[]): Selection {
  const ranked = [...candidates].sort((a, b) => tieBreakOrder(a, b));
  return {
    winner: ranked[0]!.index,
    ranking: ranked.map((c) => c.index),
    rationale: `The judge was unavailable; this candidate was chosen by the tie-break rule (${TIE_BREAK_STEPS}), not by a judgment.`,
  };
}

/**
 * A guarded request whose judge went away and that asked to fail open: the checks made until then still rule. A
 * candidate that passed is returned (grounded, chosen by the tie-break rule), else one that was never checked (not
 * grounded); one the judge failed never is, and when every candidate failed the request abstains.
 */
async function guardFailedOpen(strategy: GuardOptions, inner: InnerOptions, pool: CandidatePool, failure: unknown, ctx: StrategyContext): Promise<Selection> {
  const checks = failure instanceof GuardInterrupted ? failure.checks : [];
  const verdictOf = (c: Candidate) => checks.find((k) => k.index === c.index)?.verdict;
  // The ranking lists every candidate, as a guard's always does: the group picked from first, then the unchecked, then
  // the failed, each group in tie-break order.
  const group = (verdict: "PASS" | "FAIL" | undefined) => pool.judgeable.filter((c) => verdictOf(c) === verdict).sort((a, b) => tieBreakOrder(a, b));
  const [passed, unchecked, failed] = [group("PASS"), group(undefined), group("FAIL")];
  const indices = (candidates: Candidate[]) => candidates.map((c) => c.index);
  if (passed.length > 0) {
    const picked = await unjudgedPick(inner, passed, ctx);
    return withFields(picked, { ranking: [...picked.ranking, ...indices(unchecked), ...indices(failed)], grounded: true, checks });
  }
  if (unchecked.length > 0) {
    const picked = await unjudgedPick(inner, unchecked, ctx);
    return withFields(picked, { ranking: [...picked.ranking, ...indices(failed)], grounded: false, checks });
  }
  const rationale = "The judge became unavailable after every checked candidate had failed the groundedness check.";
  return { winner: -1, ranking: indices(failed), rationale, grounded: false, checks, abstention: strategy.abstain_message };
}

/** Whether a request's response_format asks for JSON (a schema or any object). */
function wantsJson(format: unknown): boolean {
  const type = (format as { type?: unknown } | null | undefined)?.type;
  return type === "json_schema" || type === "json_object";
}

/** Guard requests fail closed unless they say otherwise; everything else follows judge.on_error. */
function onJudgeError(options: ResolvedOptions, deps: PipelineDeps): "fail_open" | "fail_closed" {
  return options.strategy.strategy === "guard" ? options.strategy.on_judge_error : deps.onJudgeError;
}

function ungrounded(): ProxyError {
  return new ProxyError(422, "no candidate answer is supported by the documents (guard on_all_fail: error)", {
    type: "guard_error",
    code: "ungrounded",
  });
}

/** A candidate left out before judging (empty, truncated, malformed), as a guard's check: failed, never judged. */
function excludedCheck(index: number, pool: CandidatePool): GroundingCheck {
  return { index, verdict: "FAIL", reasoning: `not checked: ${pool.excluded.get(index)} answer`, prefiltered: true };
}

/**
 * A guard's checks list every candidate, so `verdict.checks` accounts for each: those left out before judging, and
 * merged repeats, which share the verdict of the answer they repeat (settled without a judge call of their own).
 */
function withEveryCheck(selection: Selection, checks: GroundingCheck[], pool: CandidatePool, excluded: number[]): Selection {
  const every = everyCheck(checks, pool, excluded);
  return every === checks ? selection : withFields(selection, { checks: every });
}

/** The checks with one for each candidate left out before judging (a repeat, an empty answer); the same list if none. */
function everyCheck(checks: GroundingCheck[], pool: CandidatePool, excluded: number[]): GroundingCheck[] {
  const listed = new Set(checks.map((check) => check.index));
  const repeats = checks.flatMap((check) =>
    pool.byIndex(check.index).duplicates.map((index): GroundingCheck => ({ index, verdict: check.verdict, reasoning: `the same answer as candidate ${check.index}`, prefiltered: true })),
  );
  const added = [...excluded.filter((index) => !listed.has(index)).map((index) => excludedCheck(index, pool)), ...repeats.filter((check) => !listed.has(check.index))];
  return added.length === 0 ? checks : [...checks, ...added].sort((a, b) => a.index - b.index);
}

/**
 * Every candidate, best first. Merged duplicates (their own draws, the same texts) come after every distinct one, in
 * their twins' order: a client asking for several choices gets alternatives first, repeats only when those run out.
 * Under a guard that passed answers, repeats of those come before the answers that failed.
 */
function fullRanking(selection: Selection, pool: CandidatePool, excluded: number[]): number[] {
  const repeats = (indices: number[]) => indices.flatMap((index) => pool.byIndex(index).duplicates);
  const passed = selection.grounded === true ? new Set(selection.checks?.filter((check) => check.verdict === "PASS").map((check) => check.index)) : null;
  if (passed === null) return [...selection.ranking, ...repeats(selection.ranking), ...excluded];
  const good = selection.ranking.filter((index) => passed.has(index));
  const rest = selection.ranking.filter((index) => !passed.has(index));
  return [...good, ...repeats(good), ...rest, ...repeats(rest), ...excluded];
}

/** No candidate could be judged (all empty, truncated or filtered): the least bad one, or for a guard an abstention. */
function withoutJudgeable(strategy: ResolvedOptions["strategy"], pool: CandidatePool, excluded: number[]): Selection {
  const leastBad = excluded[0]!;
  const unchecked: Selection = {
    winner: leastBad,
    ranking: [],
    rationale: `No candidate was usable (${pool.excluded.get(leastBad)}); returning the least bad one without judging.`,
  };
  if (strategy.strategy !== "guard") return unchecked;
  // Nothing usable was drawn, so nothing could be checked: a guarded request must not get an unchecked answer.
  const checks = pool.all.map((c) => excludedCheck(c.index, pool));
  if (strategy.on_all_fail === "error") throw new UngroundedError(checks);
  if (strategy.on_all_fail === "best_effort") return withFields(unchecked, { grounded: false, checks });
  const rationale = "No usable candidate was drawn, so none could be checked.";
  return { winner: -1, ranking: [], rationale, grounded: false, checks, abstention: strategy.abstain_message }; // excluded: added after
}

export async function runPipeline(
  body: Record<string, unknown>,
  options: ResolvedOptions,
  deps: PipelineDeps,
  scope: RequestScope,
  requestProbe: RequestProbe = noopProbe,
  /**
   * Where the request hands work that must finish after its answer (Workers' waitUntil): the pipeline's end and then
   * the settling of every upstream call it started. On Workers a client that leaves a stream ends the request's work at
   * once, and calls aborted then settle later; without this the runtime could end the invocation first, leaving their
   * upstream slots taken and their attempts uncounted. Handed over now, while the request is alive.
   */
  keepAlive?: (work: Promise<unknown>) => void,
): Promise<PipelineOutcome> {
  const strategyOptions = options.strategy;
  if (strategyOptions.strategy === "none") throw new Error("strategy none is a pass-through, not a pipeline");
  // A judge whose queue is full now would refuse this request's judgments once its candidates were drawn and paid for
  // (a probe under load saw 99% of the generator's tokens spent so): it gets the same 429 before drawing any.
  // Consistency asks the judge only to settle a tie.
  const judgeFull = strategyOptions.strategy === "consistency" ? null : deps.judgeQueue?.refusesNow();
  if (judgeFull) throw judgeFull;
  // The request's scope (withinBudget's): it aborts when the client leaves or the budget is spent, and the caller
  // closes it when the request ends, which ends any work left behind (judging cut off, a draw not needed).
  const signal = scope.signal;
  const debug = options.trace ? recordDebugTrace(requestProbe) : null;
  const probe = debug?.probe ?? requestProbe;
  probe.samplingStarted();
  const limiter = deps.limiter?.() ?? unlimited;
  const generator = limitUpstream(deps.generator, limiter);
  // Once too many draws have failed for min_candidates to be reached, the request is lost: it ends at once, with the
  // generator's error, instead of judging on (rematches and all) towards an answer it may not give.
  let doomed: ProxyError | undefined;
  const onLoss = (summary: DrawSummary) => {
    if (doomed !== undefined || options.n - summary.lost >= options.min_candidates) return;
    doomed = summary.errors[0]!;
    scope.abort(doomed);
  };
  const draw = drawCandidates({ upstream: generator, body, n: options.n, nSupport: deps.nSupport, signal, stream: deps.streamSampling ?? false, probe, onLoss, scrubKeys: deps.scrubKeys ?? null, maxCandidateChars: deps.maxCandidateChars, inlineReasoning: deps.inlineReasoning });
  let samplingDone = false;
  const sampled = draw.done.finally(() => ((samplingDone = true), probe.samplingEnded()));
  // Shared cache reads and writes take a slot of the request's bound too: Workers count KV calls as connections. Not
  // tied to the request's signal: a write may finish after the request, and a cancelled cache call is no outage.
  const sharedAccess = limiter === unlimited ? undefined : <T>(op: () => Promise<T>) => limiter.run(op);
  const session = createJudgeSession(limitJudge(deps.judge, limiter), options.cache ? deps.cache : noCache, probe, sharedAccess, deps.shareJudgmentsInFlight ?? true);
  const pool = createCandidatePool(admissionRules(body));
  const toJudge = createChannel<Candidate>();
  const degraded: string[] = [];
  // The guard's checks, counted once when the request ends: also when it is refused (422, failing closed), whose
  // checks were made all the same.
  let checks: GroundingCheck[] = [];
  // Judging cut off at the budget's end when failing open (beforeCutoff): the reason the scope was aborted with.
  let cutOff: ProxyError | undefined;
  let judgeError: ProxyError | undefined;

  // The pool sees every candidate even if the strategy stops reading early; the strategy sees only judgeable ones.
  let firstJudgeable: (found: boolean) => void = () => undefined;
  const anyJudgeable = new Promise<boolean>((resolve) => (firstJudgeable = resolve));
  const pumped = (async () => {
    const held: Candidate[] = [];
    try {
      for await (const candidate of draw.candidates) {
        const admitted = pool.admit(candidate);
        if (admitted && deps.collectFirst) held.push(admitted);
        else if (admitted) {
          toJudge.push(admitted);
          firstJudgeable(true);
        }
      }
      for (const released of [...held, ...pool.settle()]) {
        toJudge.push(released);
        firstJudgeable(true);
      }
    } finally {
      // Also when admitting a candidate fails: the strategy and the wait below end, and the failure is the request's.
      toJudge.close();
      firstJudgeable(false);
    }
  })();
  awaitedLater(pumped);

  // Here, where the try below will end it whatever happens: the calls started above are the limiter's to wait for.
  let ended: (() => void) | undefined;
  if (keepAlive) keepAlive(new Promise<void>((resolve) => (ended = resolve)).then(() => limiter.settled()));
  try {
    let selection: Selection | null = null;
    if (await anyJudgeable) {
      const conversation = body.messages as ChatMessage[];
      // Judging runs in the request's scope, not a scope of its own (an AbortController and its abort cost about 2% of
      // a best-of-4's instructions): the cut-off that ends judging when failing open comes only once every draw has
      // ended (beforeCutoff waits for the last one), so ending the whole scope then stops nothing but the judging.
      const ctx: StrategyContext = { conversation, expected: options.n, choices: options.choices, judge: session.judge, signal };
      const inner = options.inner;
      if (inner && inner.strategy !== "none") ctx.selectInner = (candidates) => selectWith(inner, candidates, { ...ctx });
      try {
        const judging = selectWith(strategyOptions, toJudge, ctx);
        const cutoff = onJudgeError(options, deps) === "fail_open" ? judgingCutoff(signal) : undefined;
        const sampling = { done: () => samplingDone, ended: sampled };
        const cutJudging = (late: ProxyError) => {
          cutOff = late;
          scope.abort(late);
        };
        selection = cutoff === undefined ? await judging : await beforeCutoff(judging, cutoff, sampling, cutJudging, strategyOptions.strategy === "guard");
      } catch (err) {
        if (doomed) throw doomed;
        // A client that left (or a spent budget) is not a judge outage: nothing is answered, the request ends as
        // cancelled. Of the scope's other aborts, a lost request was thrown above and the cut-off fails open.
        // A judge queue found full once the candidates are drawn (a consistency tie; a request whose own calls overflow
        // it) is a judge this request cannot have: failing open, the candidates already paid for are answered unjudged.
        const noJudge = isJudgeUnavailable(err) || (err instanceof ProxyError && err.code === "queue_full");
        if (!noJudge || onJudgeError(options, deps) === "fail_closed" || (signal.aborted && signal.reason !== cutOff)) throw err;
        await pumped;
        degraded.push("judge_unavailable");
        // As failing closed would have answered: a cut-off is the budget's 504, not the judge's outage.
        judgeError = cutOff ?? err;
        selection =
          strategyOptions.strategy === "guard"
            ? await guardFailedOpen(strategyOptions, options.inner, pool, err, ctx)
            : await unjudgedPick(strategyOptions, pool.judgeable, ctx);
      }
      checks = selection.checks ?? [];
      probe.judgingEnded();
    }
    await Promise.all([pumped, sampled]);
    if (draw.summary.received < options.min_candidates || pool.all.length === 0) {
      throw draw.summary.errors[0] ?? new ProxyError(502, "the generator returned no candidates", { type: "upstream_error", code: "no_candidates" });
    }
    if (draw.summary.errors.length > 0) degraded.push("candidates_lost");
    const excluded = pool.excludedRanking();
    selection ??= withoutJudgeable(strategyOptions, pool, excluded);
    if (selection.checks) selection = withEveryCheck(selection, selection.checks, pool, excluded);
    checks = selection.checks ?? [];
    if (selection.ranking.length === 0 && !selection.abstention) degraded.push("no_usable_candidates");
    if (selection.abstention !== undefined) probe.guard("abstain");
    const outcome: PipelineOutcome = {
      options,
      pool,
      selection,
      ranking: fullRanking(selection, pool, excluded),
      draw: draw.summary,
      judge: session.stats,
      judgeModel: deps.judge.model,
      degraded,
      ...(judgeError ? { judgeError } : {}),
      ...(debug ? { trace: debug.build(pool) } : {}),
      ...(selection.abstention !== undefined && wantsJson(body.response_format) ? { wantsJson: true } : {}),
    };
    probe.outcome(outcome);
    return outcome;
  } catch (err) {
    // A refusal carries the checks it was made on (no candidate passed, or the judge went away partway), counted as an
    // answer's are: with the candidates left out before judging.
    if (err instanceof UngroundedError || err instanceof GuardInterrupted) checks = everyCheck(err.checks, pool, pool.excludedRanking());
    probe.failed(session.stats);
    throw err instanceof UngroundedError ? ungrounded() : err;
  } finally {
    for (const check of checks) probe.guard(check.verdict);
    ended?.();
  }
}
