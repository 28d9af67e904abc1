// What a judge backend offers the per-request session: one pairwise judgment, with the tokens and calls it cost.
import type { PairInput, PairVerdict } from "../../strategies/types";
import type { Usage } from "../openai/chat";

export interface Judged<T> {
  value: T;
  usage: Usage;
  /** Upstream calls made, retries of unparseable answers included. */
  calls: number;
}

export interface JudgeBackend {
  /** Backend id, model, template and parameters: everything besides the inputs that changes an answer. */
  readonly identity: Record<string, unknown>;
  readonly model: string;
  comparePair(input: PairInput, signal: AbortSignal): Promise<Judged<PairVerdict>>;
}
