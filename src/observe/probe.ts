// The per-request observer: the headers every upstream call carries (x-request-id, traceparent), the span tree, the
// metric events and the fields of the request's log line. The pipeline reports to it; it decides what each costs.
import type { ProxyError } from "../errors";
import type { VerdictMetrics } from "../metrics/verdict";
import type { RequestProbe } from "./types";
import { NOOP_SPAN, SpanKind, traceparentOf, type Span, type Tracer } from "../trace/tracer";
import { parseTraceparent } from "../trace/context";

export type { GenerationWatch, JudgmentMeta, JudgmentResult, JudgmentWatch, RequestProbe } from "./types";

const nothing = () => undefined;
const quietWatch = { headers: {}, candidate: nothing, done: nothing, failed: nothing };

/** Reports nowhere: for pipelines run outside the app (tests, benchmarks). */
export const noopProbe: RequestProbe = {
  requestId: "",
  headers: {},
  elapsed: () => 0,
  resolved: nothing, samplingStarted: nothing, samplingEnded: nothing, judgingEnded: nothing, outcome: nothing, failed: nothing, guard: nothing,
  generation: () => quietWatch,
  judgment: () => quietWatch,
};

/**
 * A code as logs and spans may carry it: a short word. An upstream names its own error codes, and verdict passes them
 * on to the client; one that is long or not a word (free text, which might quote content) is not logged.
 */
export function loggableCode(code: unknown): string | undefined {
  return typeof code === "string" && /^[\w.:-]{1,64}$/.test(code) ? code : undefined;
}

/** A short code for a failure, safe for spans and logs (never a message that might quote content). */
export function failureCode(error: unknown): string {
  return loggableCode((error as { code?: unknown })?.code) ?? (error as Error)?.name ?? "error";
}

export interface ProbeDeps {
  metrics: VerdictMetrics;
  tracer: Tracer;
  clock: () => number;
}

export interface ProbeInit {
  requestId: string;
  method: string;
  route: string;
  traceparent: string | null;
  tracestate: string | null;
  /** When the request arrived (the probe's clock), if before the probe is made: the Node lane reads the body first. */
  startedAt?: number;
  /** The client's own upstream key (forwarded, with log.content on): kept out of the prompt and answer logged. */
  contentSecret?: string | undefined;
}

/** Model names longer than this are cut in log lines and spans. */
const MAX_MODEL_CHARS = 256;

/** Log-line fields the pipeline fills in; read by the middleware when the request ends. */
export interface ProbeState {
  model?: string;
  strategy?: string;
  n?: number;
  candidates?: number;
  /** null when a guard abstained. */
  winner?: number | null;
  judge_calls?: number;
  cache_hits?: number;
  sampling_ms?: number;
  judging_ms?: number;
  degraded?: string;
  /** Why an answer went out unjudged (judge.on_error failing open): the judge's failure, for the log line. */
  judge_failure?: ProxyError;
  messages?: unknown;
  completion?: unknown;
}

export interface ActiveProbe extends RequestProbe {
  readonly state: ProbeState;
  readonly span: Span;
}

export function createRequestProbe({ metrics, tracer, clock }: ProbeDeps, init: ProbeInit): ActiveProbe {
  const startedAt = init.startedAt ?? clock();
  const parent = parseTraceparent(init.traceparent);
  const span = tracer.enabled ? tracer.startRequest(`${init.method} ${init.route}`, parent, startedAt) : NOOP_SPAN;
  const traced = span !== NOOP_SPAN;
  // The client's tracestate belongs to the client's trace: when verdict starts a new one (no readable traceparent), W3C
  // says it is discarded, not sent along with a trace it says nothing about.
  const tracestate: Record<string, string> = parent && init.tracestate ? { tracestate: init.tracestate } : {};
  const withId = (child: Span): Record<string, string> => {
    const traceparent = traceparentOf(child);
    return { "x-request-id": init.requestId, ...(traceparent ? { traceparent } : {}), ...tracestate };
  };
  // Not tracing, verdict is a hop that passes the client's trace context on unchanged.
  const headers = traced
    ? withId(span)
    : { "x-request-id": init.requestId, ...(init.traceparent ? { traceparent: init.traceparent } : {}), ...(init.tracestate ? { tracestate: init.tracestate } : {}) };
  const state: ProbeState = {};
  let sampleSpan: Span = span;
  let samplingStart = 0;
  let judgingStart: number | null = null;
  const strategy = () => state.strategy ?? "unresolved";
  // Counted as they happen, so that a request that fails or is cut off (a 504, a 499, a guard's 422) still says in its
  // log line and span what it spent, as the metrics count it; a request that ends with an answer has them set again,
  // whole, from its outcome (below).
  const drawn = () => void (state.candidates = (state.candidates ?? 0) + 1);
  const judged = (calls: number, cached: boolean) => {
    state.judge_calls = (state.judge_calls ?? 0) + calls;
    state.cache_hits = (state.cache_hits ?? 0) + (cached ? 1 : 0);
    if (judgingStart !== null) state.judging_ms = clock() - judgingStart;
    span.set("verdict.judge.calls", state.judge_calls);
  };
  if (traced) span.set("verdict.request_id", init.requestId);

  return {
    requestId: init.requestId,
    headers,
    state,
    span,
    elapsed: () => clock() - startedAt,
    resolved(info) {
      // A client names the model: a long name must not make every log line and span that long.
      state.model = info.model.length > MAX_MODEL_CHARS ? `${info.model.slice(0, MAX_MODEL_CHARS)}...` : info.model;
      state.strategy = info.strategy;
      state.n = info.n;
      state.messages = info.messages;
      span.set("gen_ai.request.model", state.model);
      span.set("verdict.strategy", info.strategy);
      span.set("verdict.n", info.n);
    },
    samplingStarted() {
      samplingStart = clock();
      sampleSpan = span.child("sample");
    },
    samplingEnded() {
      state.sampling_ms = clock() - samplingStart;
      sampleSpan.end();
      metrics.phase("sampling", strategy(), state.sampling_ms / 1000);
    },
    generation(count) {
      if (!traced) {
        return { headers, candidate: () => (metrics.candidates(1), drawn()), done: (usage) => metrics.tokens("generator", usage), failed: nothing };
      }
      // One span per candidate; a call that yields several (`n`) carries the sample span's context upstream.
      const spans = Array.from({ length: count }, () => sampleSpan.child("candidate", SpanKind.client));
      let next = 0;
      const finish = (code: string) => spans.slice(next).forEach((s) => (s.fail(code), s.end()));
      return {
        headers: withId(count === 1 ? spans[0]! : sampleSpan),
        candidate(index, finishReason) {
          metrics.candidates(1);
          drawn();
          const s = spans[next++];
          s?.set("verdict.candidate.index", index);
          s?.set("gen_ai.response.finish_reason", finishReason ?? "null");
          s?.end();
        },
        done(usage) {
          metrics.tokens("generator", usage);
          finish("missing_choice");
        },
        failed: (error) => finish(failureCode(error)),
      };
    },
    judgment(meta, caching) {
      judgingStart ??= clock();
      const child = traced ? span.child("judge", SpanKind.client) : NOOP_SPAN;
      if (traced) {
        child.set("verdict.judge.task", meta.task);
        child.set("verdict.judge.a", meta.a);
        if (meta.b !== undefined) child.set("verdict.judge.b", meta.b);
        child.set("verdict.judge.attempt", meta.attempt);
      }
      return {
        headers: traced ? withId(child) : headers,
        done({ cached, calls, usage, value }) {
          judged(calls, cached);
          metrics.judgment(meta.task, caching ? (cached ? "hit" : "miss") : "bypass", calls, value.parsed);
          metrics.tokens("judge", usage);
          child.set("verdict.judge.cached", cached);
          child.set("verdict.judge.calls", calls);
          child.set("verdict.judge.verdict", "winner" in value ? value.winner : "score" in value ? value.score : value.verdict);
          child.end();
        },
        failed(error, spent) {
          judged(spent?.calls ?? 0, false);
          metrics.judgment(meta.task, caching ? "miss" : "bypass", spent?.calls ?? 0, true);
          if (spent) metrics.tokens("judge", spent.usage);
          child.set("verdict.judge.calls", spent?.calls ?? 0);
          // A judgment verdict stopped itself (a round-robin settled early) or whose client left failed nothing.
          const code = failureCode(error);
          if (code === "cancelled") child.set("verdict.cancelled", true);
          else child.fail(code);
          child.end();
        },
      };
    },
    judgingEnded() {
      if (judgingStart === null) return;
      state.judging_ms = clock() - judgingStart;
      metrics.phase("judging", strategy(), state.judging_ms / 1000);
    },
    outcome(outcome) {
      state.candidates = outcome.pool.all.length;
      // An abstaining guard chose none (the response says winner: null); -1 is only the selection's own mark for it.
      state.winner = outcome.selection.abstention !== undefined ? null : outcome.selection.winner;
      state.judge_calls = outcome.judge.calls;
      state.cache_hits = outcome.judge.cache_hits;
      if (outcome.degraded.length > 0) state.degraded = outcome.degraded.join(",");
      if (outcome.judgeError) state.judge_failure = outcome.judgeError;
      // An abstaining guard returns its refusal text, not a candidate.
      const { abstention, winner } = outcome.selection;
      state.completion = abstention ?? outcome.pool.byIndex(winner).message.content;
      if (outcome.selection.matches) metrics.matches(outcome.selection.matches);
      if (typeof state.winner === "number") span.set("verdict.winner", state.winner);
      span.set("verdict.judge.calls", outcome.judge.calls);
    },
    failed(judged) {
      state.judge_calls = Math.max(state.judge_calls ?? 0, judged.calls);
      state.cache_hits = Math.max(state.cache_hits ?? 0, judged.cache_hits);
      span.set("verdict.judge.calls", state.judge_calls);
    },
    guard: (result) => metrics.guard(result),
  };
}
