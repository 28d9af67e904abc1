// Judge backend on the Root Signals (Scorable) evaluator API: every judgment is an evaluator run that returns a score
// in 0..1 with a justification. Pairwise comparison is pointwise here: both answers are scored and the scores compared.
import { z } from "zod";
import type { Candidate, GroundingInput, GroundingVerdict, PairInput, PairVerdict, ScoreInput, ScoreVerdict } from "../../strategies/types";
import { ProxyError } from "../errors";
import { withCallerSignal } from "../metrics/fetch";
import { ZERO_USAGE } from "../openai/chat";
import { upstreamFailure, withCallSignal, type Upstream } from "../upstream";
import { boundedReasoning, FailedAfterSpending, type CallOptions, type JudgeBackend, type Judged } from "./backend";
import { renderConversation } from "./sections";

export type EvaluatorRef = { id: string } | { name: string };

export interface RootSignalsSettings {
  evaluators: { default?: EvaluatorRef; pairwise?: EvaluatorRef; rubric?: EvaluatorRef; guard?: EvaluatorRef };
  pass_threshold: number;
}

const executionSchema = z.looseObject({
  evaluator_name: z.string().nullish(),
  score: z.number().min(0).max(1).nullable(),
  justification: z.string().nullish(),
  cost: z.number().nullish(),
  execution_log_id: z.string().nullish(),
});

interface Execution {
  name: string;
  score: number;
  justification: string;
  cost: number;
  logId: string | null;
}

/**
 * The SDK hands back the text of an answer that is not JSON (a gateway's HTML page with a 200): thrown inside the
 * scheduled call, as a body that does not parse, so that it is retried like one.
 */
function jsonOnly(answer: unknown): unknown {
  if (typeof answer === "string") throw new SyntaxError("Root Signals answered with a body that is not JSON");
  return answer;
}

const refLabel = (ref: EvaluatorRef) => ("id" in ref ? `id ${ref.id}` : ref.name);

/** What the evaluator is told the user asked: the last user turn alone, or the whole conversation when there is more. */
function requestText(conversation: PairInput["conversation"]): string {
  const only = conversation.length === 1 ? conversation[0] : undefined;
  return only && typeof only.content === "string" ? only.content : renderConversation(conversation);
}

export function createRootSignalsJudge(upstream: Upstream, settings: RootSignalsSettings): JudgeBackend {
  const evaluatorFor = (task: "pairwise" | "rubric" | "guard"): EvaluatorRef => {
    const ref = settings.evaluators[task] ?? settings.evaluators.default;
    if (!ref) throw new ProxyError(500, `no Root Signals evaluator configured for ${task}`, { code: "judge_misconfigured" });
    return ref;
  };
  async function run(ref: EvaluatorRef, body: Record<string, unknown>, signal: AbortSignal, { headers, limit }: CallOptions): Promise<Execution> {
    const path = "id" in ref ? `/v1/evaluators/execute/${encodeURIComponent(ref.id)}/` : "/v1/evaluators/execute/by-name/";
    const query = "name" in ref ? { name: ref.name } : undefined;
    const post = () =>
      upstream.schedule(
        (requestSignal) => withCallSignal(requestSignal, (callSignal) =>
          upstream.client.post(path, { body, query, signal: callSignal, fetchOptions: withCallerSignal(callSignal), ...(headers ? { headers } : {}) }).then(jsonOnly)),
        signal,
      );
    let raw: unknown;
    try {
      // Each call under the request's bound, if it has one: a pair's two scores run at once (callsAtOnce below).
      raw = await (limit ? limit(post) : post());
    } catch (err) {
      throw upstreamFailure("judge", err);
    }
    const parsed = executionSchema.safeParse(raw);
    if (!parsed.success) throw new ProxyError(502, `Root Signals evaluator ${refLabel(ref)} answered in an unknown shape`, { type: "upstream_error", code: "judge_bad_response" });
    const { score, justification, cost, execution_log_id, evaluator_name } = parsed.data;
    // A run without a score judged nothing: treat it like an unreachable judge, so judge.on_error decides.
    if (score === null) throw new ProxyError(502, `Root Signals evaluator ${refLabel(ref)} returned no score`, { type: "upstream_error", code: "judge_null_score" });
    return { name: evaluator_name ?? refLabel(ref), score, justification: boundedReasoning(justification ?? ""), cost: cost ?? 0, logId: execution_log_id ?? null };
  }

  /**
   * Runs the evaluator once per distinct input within a request: both orders of a match, and later matches of the same
   * answer, reuse the run kept in the request's memo. `fresh` says whether this caller's run was a new API call.
   */
  async function shared(ref: EvaluatorRef, body: Record<string, unknown>, signal: AbortSignal, call: CallOptions = {}): Promise<{ execution: Execution; fresh: boolean }> {
    const key = `root-signals:${JSON.stringify([ref, body])}`;
    const memo = call.memo;
    let known = memo?.get(key) as Promise<Execution> | undefined;
    while (known) {
      try {
        return { execution: await known, fresh: false };
      } catch (err) {
        // The run waited for was stopped by the judgment that started it (and forgotten, below), not failed: this
        // judgment, still wanted, shares the run another waiter has started since, or runs the score itself. A real
        // failure stays in the memo and is this judgment's too.
        const now = memo!.get(key) as Promise<Execution> | undefined;
        if (signal.aborted || now === known) throw err;
        known = now;
      }
    }
    const started = run(ref, body, signal, call);
    memo?.set(key, started);
    // A run stopped by the judgment that started it (a round-robin settled early) says nothing about the answer: it is
    // forgotten, so a later judgment of the same request that needs the score runs it again instead of failing.
    started.catch(() => signal.aborted && memo?.get(key) === started && memo.delete(key));
    return { execution: await started, fresh: true };
  }

  const judged = <T>(value: T, runs: { execution: Execution; fresh: boolean }[]): Judged<T> => {
    const fresh = runs.filter((r) => r.fresh).map((r) => r.execution);
    return {
      value,
      usage: ZERO_USAGE,
      calls: fresh.length,
      cost: fresh.reduce((sum, e) => sum + e.cost, 0),
      log_ids: fresh.flatMap((e) => (e.logId ? [e.logId] : [])),
    };
  };

  return {
    model: `root-signals:${Object.values(settings.evaluators).map((r) => refLabel(r!)).join(",")}`,
    identity: { backend: "root-signals", base_url: upstream.baseURL, evaluators: settings.evaluators, pass_threshold: settings.pass_threshold },
    templates: { pairwise: { id: "rs-pointwise-pair", version: 1 }, rubric: { id: "rs-score", version: 1 }, grounding: { id: "rs-contexts", version: 1 } },
    callsAtOnce: true, // a pair's two answers are scored together

    async comparePair(input: PairInput, signal: AbortSignal, call?: CallOptions): Promise<Judged<PairVerdict>> {
      const ref = evaluatorFor("pairwise");
      const request = requestText(input.conversation);
      const score = (c: Candidate) => shared(ref, { request, response: c.text }, signal, call);
      const [first, second] = await Promise.allSettled([score(input.a), score(input.b)]);
      if (first.status === "rejected" || second.status === "rejected") {
        // One side's run answered (and was billed) though the other failed: the failure keeps what it cost.
        const answered = [first, second].flatMap((side) => (side.status === "fulfilled" ? [side.value] : []));
        const failure = first.status === "rejected" ? first.reason : (second as PromiseRejectedResult).reason;
        throw answered.length > 0 ? new FailedAfterSpending(failure, judged(undefined, answered)) : failure;
      }
      const [a, b] = [first.value, second.value];
      const diff = a.execution.score - b.execution.score;
      const winner = Math.abs(diff) < 1e-9 ? "tie" : diff > 0 ? "A" : "B";
      const reasoning =
        `Evaluator ${a.execution.name} scored each answer on its own (a pointwise comparison): ` +
        `A ${a.execution.score.toFixed(3)} (${a.execution.justification}); B ${b.execution.score.toFixed(3)} (${b.execution.justification}).`;
      return judged({ winner, reasoning, pA: 0.5 + diff / 2, parsed: true }, [a, b]);
    },

    async scoreRubric(input: ScoreInput, signal: AbortSignal, call?: CallOptions): Promise<Judged<ScoreVerdict>> {
      const body = { request: requestText(input.conversation), response: input.candidate.text };
      const result = await shared(evaluatorFor("rubric"), body, signal, call);
      const { score, justification } = result.execution;
      return judged({ score: 1 + Math.round(score * (input.scale - 1)), normalised: score, justification, parsed: true }, [result]);
    },

    async checkGrounding(input: GroundingInput, signal: AbortSignal, call?: CallOptions): Promise<Judged<GroundingVerdict>> {
      const body = { request: input.question, response: input.answer, contexts: input.documents };
      const result = await shared(evaluatorFor("guard"), body, signal, call);
      const { score, justification } = result.execution;
      const verdict = score >= settings.pass_threshold ? "PASS" : "FAIL";
      return judged({ verdict, reasoning: `score ${score.toFixed(3)} (pass at ${settings.pass_threshold}): ${justification}`, parsed: true }, [result]);
    },
  };
}
