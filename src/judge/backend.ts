// What a judge backend offers the per-request session: judgments, with the tokens and calls each cost.
import type { PairInput, PairVerdict, ScoreInput, ScoreVerdict } from "../../strategies/types";
import type { Usage } from "../openai/chat";

export interface Judged<T> {
  value: T;
  usage: Usage;
  /** Upstream calls made, retries of unparseable answers included. */
  calls: number;
}

/** Per-call extras from the request: headers such as x-request-id and traceparent, to send upstream. */
export interface CallOptions {
  headers?: Record<string, string>;
}

export interface JudgeBackend {
  /** Backend id, model and parameters: everything besides the inputs and template that changes an answer. */
  readonly identity: Record<string, unknown>;
  readonly model: string;
  /** Template id and version per task, part of the cache key so a changed prompt never reuses old answers. */
  readonly templates: Record<"pairwise" | "rubric", { id: string; version: number }>;
  comparePair(input: PairInput, signal: AbortSignal, call?: CallOptions): Promise<Judged<PairVerdict>>;
  scoreRubric(input: ScoreInput, signal: AbortSignal, call?: CallOptions): Promise<Judged<ScoreVerdict>>;
}

/** Maps a 1..scale score to 0..1. */
export function normaliseScore(score: number, scale: number): number {
  return scale <= 1 ? 1 : (score - 1) / (scale - 1);
}
