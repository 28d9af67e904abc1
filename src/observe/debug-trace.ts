// `verdict.trace: true`: every candidate and every judgment of one request, returned in the response for debugging.
// Built by wrapping the request's probe, so the pipeline records nothing extra when no one asked.
import type { CandidatePool } from "../candidates";
import type { JudgmentMeta, RequestProbe } from "./probe";
import { failureCode } from "./probe";
import { withFields } from "../util/with-fields";

export interface DebugJudgment extends JudgmentMeta {
  /** Milliseconds since the request began, when the judgment was asked and when it was settled. */
  started_ms: number;
  ms?: number;
  cached?: boolean;
  calls?: number;
  parsed?: boolean;
  /** Pairwise: the verdict with `a` shown first as A; soft p(A) when logprobs are on. */
  winner?: string;
  p_a?: number;
  reasoning?: string;
  /** Rubric: the grade and its justification. */
  score?: number;
  normalised?: number;
  justification?: string;
  error?: string;
}

export interface DebugTrace {
  candidates: ({ index: number } & Record<string, unknown>)[];
  judgments: DebugJudgment[];
}

const ms = (value: number) => Math.round(value * 10) / 10;

export function recordDebugTrace(probe: RequestProbe): { probe: RequestProbe; build(pool: CandidatePool): DebugTrace } {
  const arrived = new Map<number, number>();
  const judgments: DebugJudgment[] = [];
  const traced: RequestProbe = withFields<RequestProbe, Pick<RequestProbe, "generation" | "judgment">>(probe, {
    generation(count) {
      const inner = probe.generation(count);
      return {
        headers: inner.headers,
        candidate(index, finishReason) {
          arrived.set(index, ms(probe.elapsed()));
          inner.candidate(index, finishReason);
        },
        done: (usage) => inner.done(usage),
        failed: (error) => inner.failed(error),
      };
    },
    judgment(meta, caching) {
      const inner = probe.judgment(meta, caching);
      // Recorded when asked, so the list reads in the order the strategy asked, not the order answers came back.
      const record: DebugJudgment = withFields(meta, { started_ms: ms(probe.elapsed()) });
      judgments.push(record);
      return {
        headers: inner.headers,
        done(result) {
          const { value } = result;
          Object.assign(record, { ms: ms(probe.elapsed() - record.started_ms), cached: result.cached, calls: result.calls, parsed: value.parsed });
          if ("winner" in value) Object.assign(record, { winner: value.winner, reasoning: value.reasoning, ...(value.pA !== undefined ? { p_a: value.pA } : {}) });
          else if ("score" in value) Object.assign(record, { score: value.score, normalised: value.normalised, justification: value.justification });
          else Object.assign(record, { grounding: value.verdict, reasoning: value.reasoning });
          inner.done(result);
        },
        failed(error, spent) {
          Object.assign(record, { ms: ms(probe.elapsed() - record.started_ms), error: failureCode(error), calls: spent?.calls ?? 0 });
          inner.failed(error, spent);
        },
      };
    },
  });
  return {
    probe: traced,
    build: (pool) => ({
      candidates: pool.all.map((c) => ({
        index: c.index,
        message: c.message,
        finish_reason: c.finish_reason,
        arrived_ms: arrived.get(c.index),
        ...(pool.excluded.has(c.index) ? { excluded: pool.excluded.get(c.index) } : {}),
        ...(c.duplicates.length > 0 ? { duplicates: c.duplicates } : {}),
      })),
      judgments,
    }),
  };
}
