// The contract between the pipeline and every strategy: plain data in, a Selection out. No HTTP, no Hono.

export interface ChatMessage {
  role: string;
  content?: unknown;
  [field: string]: unknown;
}

/** One sampled answer. `text` is what the judge reads; `message` is returned to the client untouched. */
export interface Candidate {
  index: number;
  text: string;
  message: Record<string, unknown>;
  finish_reason: string | null;
  logprobs?: unknown;
  /** The choice's other fields (vLLM's stop_reason, Azure's content_filter_results), given back with it as they came. */
  extra?: Record<string, unknown>;
  /** Indexes of identical candidates merged into this one. */
  duplicates: number[];
  /**
   * All the text the client would get, when `text` leaves out reasoning written inline: what a guard checks, since an
   * unsupported claim in the reasoning reaches the user all the same.
   */
  fullText?: string;
  /** The completion-level fields of the generator call that drew it: its answer's id, model and the rest if it wins. */
  drawnBy?: DrawMeta;
}

/**
 * id, created, model and system_fingerprint of a generator's completion, with its fields verdict does not rebuild
 * (service_tier, vLLM's kv_transfer_params, Azure's prompt_filter_results).
 */
export interface DrawMeta {
  id: string;
  created: number;
  model: string;
  system_fingerprint?: string | null;
  extra?: Record<string, unknown>;
}

export type PairWinner = "A" | "B" | "tie";

/** One judge call's answer about a pair shown as (A, B). */
export interface PairVerdict {
  winner: PairWinner;
  reasoning: string;
  /** p(A beats B) from the verdict token's logprobs, when the server gave them. */
  pA?: number;
  /** False when the judge's text could not be parsed even after a retry (counted as a tie). */
  parsed: boolean;
}

export interface PairInput {
  conversation: ChatMessage[];
  a: Candidate;
  b: Candidate;
  /** 0 for the first judgment of this pair in this order; a rematch asks again with a higher attempt. */
  attempt?: number;
  /**
   * Whether an answer the judge gave unreadably may be asked for once more; absent, it may. Under a request's cap on
   * judge calls (max_judge_calls) that second call is paid from the same spare calls as rematches.
   */
  askAgain?: () => boolean;
}

export interface ScoreInput {
  conversation: ChatMessage[];
  candidate: Candidate;
  rubric: string;
  /** Highest score on the scale; scores are 1..scale. */
  scale: number;
}

/** One judge call's grade of one candidate against a rubric. */
export interface ScoreVerdict {
  /** The judge's integer score, 1..scale (the scale's middle when unparseable). */
  score: number;
  /** The score mapped to 0..1. */
  normalised: number;
  justification: string;
  parsed: boolean;
}

export interface GroundingInput {
  question: string;
  documents: string[];
  answer: string;
  /** The candidate whose answer this is, for traces and spans; not part of the judgment (nor its cache key). */
  index?: number;
}

/** One judge call's groundedness check of one answer against the documents. */
export interface GroundingVerdict {
  verdict: "PASS" | "FAIL";
  reasoning: string;
  /** False when the judge's text could not be read after a retry; such a check counts as FAIL. */
  parsed: boolean;
}

/** What strategies see of the judge: the per-request session counts calls, cache hits and tokens. */
export interface Judge {
  compare(input: PairInput, signal?: AbortSignal): Promise<PairVerdict>;
  score(input: ScoreInput, signal?: AbortSignal): Promise<ScoreVerdict>;
  checkGrounding(input: GroundingInput, signal?: AbortSignal): Promise<GroundingVerdict>;
}

export interface GroundingCheck {
  index: number;
  verdict: "PASS" | "FAIL";
  reasoning: string;
  /** Settled without a judge call (an empty answer, a refusal, or a repeat of an answer checked already). */
  prefiltered?: boolean;
}

export interface StrategyContext {
  conversation: ChatMessage[];
  /** For strategies that wrap another (guard): runs the inner strategy the request chose over some candidates. */
  selectInner?: (candidates: AsyncIterable<Candidate>) => Promise<Selection>;
  /** Candidates the request asked for; fewer may arrive (failures, merged duplicates). */
  expected: number;
  /**
   * How many of the best the client gets (its own `n`; 1 when unset). A strategy that would stop once the winner is
   * certain plays on when more are wanted: the alternatives must be ranked by the judge too.
   */
  choices?: number;
  judge: Judge;
  signal: AbortSignal;
}

/** A match between candidates `a` and `b`, judged in both orders. */
export interface MatchRecord {
  a: number;
  b: number;
  winner: number;
  /** Verdicts in candidate terms: first with `a` shown first, then with `b` shown first. */
  verdicts: [PairWinner, PairWinner];
  consistent: boolean;
  /** Soft p(a beats b) in 0..1: from logprobs when known, else from the hard verdicts. */
  p_a: number;
  /** What settled the match: the judge, or the tie-break rule that had to be used. */
  decided_by: "judge" | "judge_half_weight" | TieBreakRule;
  reasoning: string;
  round: number;
  /** Times the match was replayed because the two orders disagreed. */
  rematches?: number;
}

export type TieBreakRule = "soft_score" | "rubric_score" | "answer_over_refusal" | "shorter_answer" | "lower_index";

export interface Selection {
  winner: number;
  /** Candidate indexes, best first; every candidate the strategy saw appears once. */
  ranking: number[];
  rationale: string;
  scores?: Record<number, number>;
  matches?: MatchRecord[];
  /** Judge rounds that had to run one after another (critical path). */
  rounds?: number;
  /** Guard: whether the answer returned passed the groundedness check, and every check made. */
  grounded?: boolean;
  checks?: GroundingCheck[];
  /** Guard: no candidate passed and the request abstains; `winner` is then -1 and this text is the answer. */
  abstention?: string;
}

export interface Strategy<Options> {
  /** Candidates arrive as they are drawn, so judging can start before the slowest one is done. */
  select(candidates: AsyncIterable<Candidate>, options: Options, ctx: StrategyContext): Promise<Selection>;
}
