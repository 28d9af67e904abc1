// What a judge backend offers the per-request session: judgments, with the tokens and calls each cost.
import type { GroundingInput, GroundingVerdict, PairInput, PairVerdict, ScoreInput, ScoreVerdict } from "../../strategies/types";
import type { ReportedUsage, Usage } from "../openai/chat";

export interface Judged<T> {
  value: T;
  usage: Usage;
  /** Upstream calls made, retries of unparseable answers included. */
  calls: number;
  /** What the calls cost, where the backend reports it (Root Signals), and the ids to find the runs by. */
  cost?: number;
  log_ids?: string[];
}

/**
 * A judgment that failed after some of its calls had answered (one side of a pair scored, the other not): those calls
 * were made and, with Root Signals, billed, so the request still counts them.
 */
export class FailedAfterSpending extends Error {
  constructor(
    readonly failure: unknown,
    readonly spent: Omit<Judged<unknown>, "value">,
  ) {
    super("a judgment failed after some of its calls had answered");
    this.name = "FailedAfterSpending";
  }
}

/** Per-call extras from the request: headers such as x-request-id and traceparent, and the request's memo. */
export interface CallOptions {
  headers?: Record<string, string>;
  memo?: RequestMemo;
  /**
   * Told of each call the judge answered, as it answers. The request counts it then: a judgment still running when
   * the answer is sent (a re-ask under way when judging fails open) has its answered calls in the answer.
   */
  spent?(usage: ReportedUsage | null | undefined): void;
  /**
   * The request's bound on calls in flight (limits.max_inflight_per_request), given to a backend whose judgments make
   * several calls at once (`callsAtOnce`): it runs each call under it. Absent when the request has no bound.
   */
  limit?: <T>(call: () => Promise<T>) => Promise<T>;
}

export interface JudgeBackend {
  /**
   * Backend id, model and parameters: everything besides the inputs and template that changes an answer. Made once
   * and never changed: cache keys are memoised by this object and task (src/judge/session.ts), so a backend with other
   * templates needs an identity of its own.
   */
  readonly identity: Record<string, unknown>;
  readonly model: string;
  /** Template id and version per task, part of the cache key so a changed prompt never reuses old answers. */
  readonly templates: Record<JudgeTask, { id: string; version: number }>;
  /**
   * True when one judgment may make several calls at once (Root Signals scores both answers of a pair together). The
   * request's bound then applies to each call, through CallOptions.limit, instead of one slot per judgment.
   */
  readonly callsAtOnce?: boolean;
  comparePair(input: PairInput, signal: AbortSignal, call?: CallOptions): Promise<Judged<PairVerdict>>;
  scoreRubric(input: ScoreInput, signal: AbortSignal, call?: CallOptions): Promise<Judged<ScoreVerdict>>;
  checkGrounding(input: GroundingInput, signal: AbortSignal, call?: CallOptions): Promise<Judged<GroundingVerdict>>;
}

/**
 * Scratch space that lives for one request: a backend that scores answers one at a time (Root Signals) keeps each
 * answer's score here, so the matches of one request do not pay for the same score twice. Dropped with the request.
 */
export type RequestMemo = Map<string, unknown>;

export type JudgeTask = "pairwise" | "rubric" | "grounding";

/** Maps a 1..scale score to 0..1. */
export function normaliseScore(score: number, scale: number): number {
  return scale <= 1 ? 1 : (score - 1) / (scale - 1);
}

/**
 * The most of a judge's reasoning a verdict keeps. A rationale is a few hundred words; one of megabytes would be copied
 * into the answer once per match, and into the cache, so the rest is cut, and the cut is said.
 */
export const MAX_REASONING_CHARS = 8_000;

export function boundedReasoning(text: string): string {
  if (text.length <= MAX_REASONING_CHARS) return text;
  return `${text.slice(0, MAX_REASONING_CHARS)} [... ${text.length - MAX_REASONING_CHARS} more characters cut]`;
}
