// verdict's own metrics: what operators ask about (cost, savings, disagreement, refusals, time), behind a small
// interface whose no-op default makes every call free when metrics are off.
import type { MatchRecord } from "../../strategies/types";
import { tokenCount, type ReportedUsage } from "../openai/chat";
import { createRegistry, SECONDS_BUCKETS, type Registry } from "./registry";

export type UpstreamRole = "generator" | "judge";
export type { JudgeTask } from "../judge/backend";
import type { JudgeTask } from "../judge/backend";
/** One groundedness check's result, or the whole request abstaining because no candidate passed. */
export type GuardResult = "PASS" | "FAIL" | "abstain";

export interface VerdictMetrics {
  readonly enabled: boolean;
  request(route: string, strategy: string, status: number, seconds: number): void;
  inFlight(delta: 1 | -1): void;
  phase(phase: "sampling" | "judging", strategy: string, seconds: number): void;
  candidates(count: number): void;
  tokens(role: UpstreamRole, usage: ReportedUsage | null | undefined): void;
  /** cache: "hit"/"miss" when the request used the cache, "bypass" when it asked not to (not counted). */
  judgment(task: JudgeTask, cache: "hit" | "miss" | "bypass", calls: number, parsed: boolean): void;
  matches(records: readonly MatchRecord[]): void;
  /** The guard strategy's hook: one call per candidate checked (PASS/FAIL), and "abstain" per refused request. */
  guard(result: GuardResult): void;
  /** One HTTP attempt to an upstream (the SDK's retries each count), with its status or "timeout"/"network_error". */
  upstreamAttempt(upstream: UpstreamRole, status: string, seconds: number, retry: boolean): void;
  /** A failed upstream call that verdict is about to try again. */
  retried(upstream: UpstreamRole): void;
  trackQueue(upstream: UpstreamRole, read: () => number): void;
  spans(result: "exported" | "dropped" | "failed", count: number): void;
  /** The exposition text; null when metrics are off. */
  render(): string | null;
}

const nothing = () => undefined;

export const noopMetrics: VerdictMetrics = {
  enabled: false,
  request: nothing, inFlight: nothing, phase: nothing, candidates: nothing, tokens: nothing, judgment: nothing,
  matches: nothing, guard: nothing, upstreamAttempt: nothing, retried: nothing, trackQueue: nothing, spans: nothing,
  render: () => null,
};

const isError = (status: string) => !/^[123]\d\d$/.test(status) && status !== "aborted";

export function createVerdictMetrics(registry: Registry = createRegistry()): VerdictMetrics {
  const requests = registry.counter("verdict_requests_total", "Requests answered, by route, strategy and HTTP status.", ["route", "strategy", "status"]);
  const inFlight = registry.gauge("verdict_requests_in_flight", "Requests being worked on now.");
  const duration = registry.histogram("verdict_request_duration_seconds", "Time to the response's headers (a pass-through stream may run longer); a reranked stream until its work ends.", ["route", "strategy"], SECONDS_BUCKETS);
  const sampling = registry.histogram("verdict_sampling_duration_seconds", "Time from the first generator call to the last candidate.", ["strategy"], SECONDS_BUCKETS);
  const judging = registry.histogram("verdict_judging_duration_seconds", "Time from the first judgment asked to the winner chosen.", ["strategy"], SECONDS_BUCKETS);
  const candidates = registry.counter("verdict_candidates_total", "Candidates received from the generator.");
  const tokens = registry.counter("verdict_tokens_total", "Tokens spent by reranked requests, by upstream role and kind.", ["role", "kind"]);
  const judgeCalls = registry.counter("verdict_judge_calls_total", "Calls to the judge model (retries of unparseable answers included).", ["task"]);
  const judgeCache = registry.counter("verdict_judge_cache_total", "Judgment cache lookups, by result; a hit is a judge call saved.", ["result"]);
  const unparsed = registry.counter("verdict_judge_unparsed_total", "Judgments whose answer could not be read even after a retry.", ["task"]);
  const matches = registry.counter("verdict_matches_total", "Pairwise matches; consistent=false when the two orders still disagreed (position bias).", ["consistent"]);
  const rematches = registry.counter("verdict_match_rematches_total", "Replays of a match whose two orders disagreed.");
  const guard = registry.counter("verdict_guard_checks_total", "Groundedness checks by the guard strategy, by verdict.", ["verdict"]);
  const abstentions = registry.counter("verdict_guard_abstentions_total", "Guarded requests where no candidate passed and verdict abstained.");
  const attempts = registry.counter("verdict_upstream_requests_total", "HTTP attempts to an upstream, by status (timeout, network_error and aborted when none came).", ["upstream", "status"]);
  const retries = registry.counter("verdict_upstream_retries_total", "HTTP attempts that were retries of a failed one.", ["upstream"]);
  const errors = registry.counter("verdict_upstream_errors_total", "Failed HTTP attempts to an upstream, by status.", ["upstream", "status"]);
  const attemptTime = registry.histogram("verdict_upstream_request_duration_seconds", "Per attempt: to the whole answer for a JSON call, to the response headers for a stream.", ["upstream"], SECONDS_BUCKETS);
  const queue = registry.gauge("verdict_upstream_queue_depth", "Calls running or waiting in an upstream's queue.", ["upstream"]);
  const spans = registry.counter("verdict_trace_spans_total", "Trace spans exported, dropped (buffer full, or left when a flush ran out of time) or failed (collector error).", ["result"]);

  // Known series start at zero so rates and absent-series alerts work before the first event.
  for (const role of ["generator", "judge"]) {
    for (const kind of ["prompt", "completion"]) tokens.inc([role, kind], 0);
    retries.inc([role], 0);
  }
  for (const task of ["pairwise", "rubric", "grounding"]) (judgeCalls.inc([task], 0), unparsed.inc([task], 0));
  for (const result of ["hit", "miss"]) judgeCache.inc([result], 0);
  for (const consistent of ["true", "false"]) matches.inc([consistent], 0);
  for (const verdict of ["PASS", "FAIL"]) guard.inc([verdict], 0);

  return {
    enabled: true,
    request(route, strategy, status, seconds) {
      requests.inc([route, strategy, String(status)]);
      duration.observe([route, strategy], seconds);
    },
    inFlight: (delta) => inFlight.inc([], delta),
    phase: (phase, strategy, seconds) => (phase === "sampling" ? sampling : judging).observe([strategy], seconds),
    candidates: (count) => candidates.inc([], count),
    tokens(role, usage) {
      if (!usage) return;
      // An upstream may write its counts as strings, and a counter must not become text.
      tokens.inc([role, "prompt"], tokenCount(usage.prompt_tokens));
      tokens.inc([role, "completion"], tokenCount(usage.completion_tokens));
    },
    judgment(task, cache, calls, parsed) {
      if (cache !== "bypass") judgeCache.inc([cache]);
      if (calls > 0) judgeCalls.inc([task], calls);
      if (!parsed) unparsed.inc([task]);
    },
    matches(records) {
      for (const record of records) {
        matches.inc([String(record.consistent)]);
        if (record.rematches) rematches.inc([], record.rematches);
      }
    },
    guard: (result) => (result === "abstain" ? abstentions.inc() : guard.inc([result])),
    retried: (upstream) => retries.inc([upstream]),
    upstreamAttempt(upstream, status, seconds, retry) {
      attempts.inc([upstream, status]);
      attemptTime.observe([upstream], seconds);
      if (retry) retries.inc([upstream]);
      if (isError(status)) errors.inc([upstream, status]);
    },
    trackQueue: (upstream, read) => queue.track([upstream], read),
    spans: (result, count) => spans.inc([result], count),
    render: () => registry.render(),
  };
}
