// Turns a pipeline outcome into the client's chat.completion: ranked choices, summed usage, the `verdict` object.
import { addUsage, ZERO_USAGE } from "./openai/chat";
import type { DebugTrace } from "./observe/debug-trace";
import type { PipelineOutcome } from "./pipeline";
import { withFields } from "./util/with-fields";

export function verdictObject(outcome: PipelineOutcome) {
  const { options, pool, selection, draw, judge, degraded } = outcome;
  return {
    strategy: options.strategy.strategy,
    ...(options.strategy.strategy === "pairwise" ? { tournament: options.strategy.tournament } : {}),
    n_candidates: pool.all.length,
    winner: selection.abstention !== undefined ? null : selection.winner,
    rationale: selection.rationale,
    ...(selection.grounded !== undefined ? { grounded: selection.grounded } : {}),
    ...(selection.checks ? { checks: selection.checks } : {}),
    ...(selection.scores ? { scores: selection.scores } : {}),
    ...(selection.matches ? { matches: selection.matches } : {}),
    ...(selection.rounds !== undefined ? { rounds: selection.rounds } : {}),
    ranking: outcome.ranking,
    judge: {
      model: outcome.judgeModel,
      calls: judge.calls,
      cache_hits: judge.cache_hits,
      unparsed: judge.unparsed,
      ...(judge.execution_log_ids ? { execution_log_ids: judge.execution_log_ids } : {}),
    },
    usage: { generator: draw.usage, judge: judge.cost !== undefined ? withFields(judge.usage, { cost: judge.cost }) : judge.usage },
    ...(degraded.length > 0
      ? { degraded: degraded.join(","), ...(draw.errors.length > 0 ? { errors: draw.errors.map((e) => ({ status: e.status, message: e.message })) } : {}) }
      : {}),
    // Why an answer came back unjudged: the judge's failure as the client would have heard it failing closed.
    ...(outcome.judgeError ? { judge_error: { status: outcome.judgeError.status, message: outcome.judgeError.message } } : {}),
    ...(options.return_candidates ? { candidates: candidatesOf(outcome) } : {}),
    ...(outcome.trace ? { trace: traceOf(outcome, outcome.trace) } : {}),
  };
}

/**
 * Under a guard, the candidates a client may be given; undefined when every one may be. An answer the judge found
 * unsupported (or never checked, beside one that passed) is never returned, not even for the record.
 */
function shownUnderGuard(outcome: PipelineOutcome): Set<number> | undefined {
  if (outcome.options.strategy.strategy !== "guard") return undefined;
  return new Set(outcome.selection.abstention !== undefined ? [] : returnable(outcome));
}

const showing = (shown: Set<number> | undefined, index: number) => shown === undefined || shown.has(index);

/** Content parts that hold reasoning, as some servers send it (Magistral's "thinking"). */
const REASONING_PART = new Set(["thinking", "reasoning"]);

/**
 * A guarded answer as the client gets it: what the judge checked, and nothing else. The reasoning a model keeps beside
 * its content (`reasoning_content`, `reasoning`, a part of type "thinking") is never shown to the judge, and a
 * reasoning model's deliberation ("was it 1989? no, ...") would fail most checks if it were; clients display it all
 * the same, so it is left out. The same message back when it has none.
 */
function checkedOnly(message: Record<string, unknown>): Record<string, unknown> {
  const parts = Array.isArray(message.content) ? (message.content as { type?: unknown }[]) : null;
  const reasoningParts = parts !== null && parts.some((part) => REASONING_PART.has(part?.type as string));
  if (!("reasoning_content" in message) && !("reasoning" in message) && !reasoningParts) return message;
  const { reasoning_content: _content, reasoning: _reasoning, ...checked } = message;
  return reasoningParts ? { ...checked, content: parts!.filter((part) => !REASONING_PART.has(part?.type as string)) } : checked;
}

/** A candidate's message as this outcome may show it: checked text only under a guard. */
const messageShown = (outcome: PipelineOutcome, message: Record<string, unknown>) =>
  outcome.options.strategy.strategy === "guard" ? checkedOnly(message) : message;

/** `verdict.trace` as recorded, but with a guard's withheld answers withheld there too. */
function traceOf(outcome: PipelineOutcome, trace: DebugTrace): DebugTrace {
  const shown = shownUnderGuard(outcome);
  if (shown === undefined) return trace;
  const candidates = trace.candidates.map(({ message, ...rest }) =>
    showing(shown, rest.index) ? { message: checkedOnly(message as Record<string, unknown>), ...rest } : { ...rest, withheld: "not_grounded" },
  );
  return { ...trace, candidates };
}

/**
 * Every candidate, for the record (`return_candidates`). Under a guard only those the client may be given show their
 * message (shownUnderGuard); the others say `withheld`, and `verdict.checks` says why.
 */
function candidatesOf(outcome: PipelineOutcome) {
  const { pool } = outcome;
  const shown = shownUnderGuard(outcome);
  return pool.all.map((c) => ({
    index: c.index,
    ...(showing(shown, c.index) ? { message: messageShown(outcome, c.message) } : { withheld: "not_grounded" as const }),
    finish_reason: c.finish_reason,
    ...(pool.excluded.has(c.index) ? { excluded: pool.excluded.get(c.index) } : {}),
    ...(c.duplicates.length > 0 ? { duplicates: c.duplicates } : {}),
  }));
}

/**
 * The candidates a client may be given, best first. `verdict.ranking` lists every candidate, for the record; choices
 * are only usable ones. A candidate left out before judging (cut off, empty, not matching the schema, ...) is a choice
 * only when it is the winner (nothing usable came), and then the only one: an SDK's parse() reads every choice, and
 * one it cannot read fails the whole call. So a client asking for several choices may get fewer.
 * A grounded answer's alternatives must be grounded too: a guard's ranking goes on past the candidates that passed,
 * and those are never choices. An unchecked answer (a guard failing open) may have unchecked alternatives, never
 * failed ones; only best effort, whose winner itself failed, returns failed answers.
 */
function returnable(outcome: PipelineOutcome): number[] {
  const { selection, pool } = outcome;
  // Nothing usable came: the best of what came is the one answer (README), not several unusable choices.
  if (pool.excluded.has(selection.winner)) return [selection.winner];
  const ranking = pool.excluded.size === 0 ? outcome.ranking : outcome.ranking.filter((index) => !pool.excluded.has(index));
  const checks = selection.checks;
  if (checks === undefined) return ranking;
  // The checks list every candidate, merged repeats with their twin's verdict (src/pipeline.ts, withEveryCheck).
  const judged = (verdict: "PASS" | "FAIL") => new Set(checks.filter((check) => check.verdict === verdict).map((check) => check.index));
  if (selection.grounded === true) {
    const passed = judged("PASS");
    return ranking.filter((index) => passed.has(index));
  }
  const failed = judged("FAIL");
  return failed.has(selection.winner) ? ranking : ranking.filter((index) => !failed.has(index));
}

export function completionBody(outcome: PipelineOutcome, fallbackModel: string) {
  const abstention = outcome.selection.abstention;
  const returned = abstention === undefined ? returnable(outcome).slice(0, outcome.options.choices) : [];
  // The first choice's own call says what the answer is (its id, service_tier, kv_transfer_params), not the first
  // call to finish, which may have drawn a losing candidate.
  const meta = (returned.length > 0 ? outcome.pool.byIndex(returned[0]!).drawnBy : undefined) ?? outcome.draw.meta;
  const choices =
    abstention !== undefined
      ? [{ index: 0, message: outcome.wantsJson ? { role: "assistant", content: null, refusal: abstention } : { role: "assistant", content: abstention, refusal: null }, logprobs: null, finish_reason: "stop" }]
      : returned.map((index, position) => {
          const candidate = outcome.pool.byIndex(index);
          const choice = { index: position, message: messageShown(outcome, candidate.message), logprobs: candidate.logprobs ?? null, finish_reason: candidate.finish_reason ?? "stop" };
          return candidate.extra ? withFields(candidate.extra, choice) : choice;
        });
  const body = {
    id: meta?.id ?? `chatcmpl-verdict-${crypto.randomUUID()}`,
    object: "chat.completion" as const,
    created: meta?.created ?? Math.floor(Date.now() / 1000),
    model: meta?.model ?? fallbackModel,
    choices,
    usage: addUsage(addUsage(ZERO_USAGE, outcome.draw.usage), outcome.judge.usage),
    ...(meta?.system_fingerprint ? { system_fingerprint: meta.system_fingerprint } : {}),
    verdict: verdictObject(outcome),
  };
  // The generator's other fields first, so that verdict's own win; copied only when there are any (literals are cheaper).
  return meta?.extra ? withFields(meta.extra, body) : body;
}

export function verdictHeaders(outcome: PipelineOutcome): Record<string, string> {
  return {
    "x-verdict-strategy": outcome.options.strategy.strategy,
    "x-verdict-candidates": String(outcome.pool.all.length),
    "x-verdict-winner": outcome.selection.abstention !== undefined ? "none" : String(outcome.selection.winner),
    ...(outcome.selection.grounded !== undefined ? { "x-verdict-grounded": String(outcome.selection.grounded) } : {}),
    "x-verdict-judge-calls": String(outcome.judge.calls),
    "x-verdict-cache-hits": String(outcome.judge.cache_hits),
  };
}
