// What the pipeline reports to while it works on a request: the per-request probe and the watches it hands out for
// each generator call and each judgment. Implementations: observe/probe.ts (the app's) and noopProbe.
import type { GuardResult, JudgeTask } from "../metrics/verdict";
import type { ReportedUsage, Usage } from "../openai/chat";
import type { PipelineOutcome } from "../pipeline";
import type { GroundingVerdict, PairVerdict, ScoreVerdict } from "../../strategies/types";

export interface GenerationWatch {
  readonly headers: Record<string, string>;
  candidate(index: number, finishReason: string | null): void;
  done(usage: ReportedUsage | null | undefined): void;
  failed(error: unknown): void;
}

export interface JudgmentMeta {
  task: JudgeTask;
  /** The candidate shown first (or the one graded). */
  a: number;
  b?: number;
  attempt: number;
}

export interface JudgmentResult {
  cached: boolean;
  calls: number;
  usage: Usage;
  value: PairVerdict | ScoreVerdict | GroundingVerdict;
}

export interface JudgmentWatch {
  readonly headers: Record<string, string>;
  done(result: JudgmentResult): void;
  /** `spent`: the calls that answered (and were billed) before the judgment failed. */
  failed(error: unknown, spent?: { calls: number; usage: Usage }): void;
}

export interface RequestProbe {
  readonly requestId: string;
  /** For upstream calls outside a candidate or judgment (the pass-through). */
  readonly headers: Record<string, string>;
  /** Milliseconds since the request began. */
  elapsed(): number;
  resolved(info: { model: string; strategy: string; n: number; messages: unknown }): void;
  samplingStarted(): void;
  samplingEnded(): void;
  /** One generator call that should yield `count` candidates. */
  generation(count: number): GenerationWatch;
  /** One judgment; `caching` is false when the request bypasses the judgment cache. */
  judgment(meta: JudgmentMeta, caching: boolean): JudgmentWatch;
  judgingEnded(): void;
  outcome(outcome: PipelineOutcome): void;
  /**
   * The request failed: the judge calls answered by then, as its judge session counted them (a call of a judgment
   * still in flight, whose end comes after the log line, included).
   */
  failed(judged: { calls: number; cache_hits: number }): void;
  /** For the guard strategy: each candidate's PASS/FAIL, and "abstain" when the request refuses. */
  guard(result: GuardResult): void;
}
