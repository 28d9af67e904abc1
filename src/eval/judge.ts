// The judge `verdict eval` measures: the configured backend, keys kept out of everything it reports, and the time of
// every call the judge answered.
//
// Why timed at the HTTP attempt, not around a judgment: a judgment also waits for a free slot, for backoff after a
// failed attempt and for a re-ask, none of which is the judge's speed. An attempt the judge failed (a 500, a reset) is
// left out, so there is about one timing per judge call counted; a 200 that was not JSON (retried) and a call still
// answering when Ctrl-C stopped the run are timed too, being answers the judge took that long to give.
import type { Config } from "../config";
import { exchangeOverFetch } from "../exchange";
import { createJudgeBackend, createJudgeUpstream } from "../judge/create";
import type { JudgeBackend } from "../judge/backend";
import { observedExchange, observedFetch } from "../metrics/fetch";
import { noopMetrics, type VerdictMetrics } from "../metrics/verdict";
import { redactingExchange, redactingFetch } from "../redact";
import type { FetchLike } from "../upstream";

export interface EvalJudge {
  backend: JudgeBackend;
  /** Milliseconds per answered call: to the whole answer for verdict's own calls, to its headers for the SDK's. */
  callTimes: number[];
}

export function evalJudge(config: Config, fetch: FetchLike, secrets: (string | undefined)[], clock: () => number = () => performance.now()): EvalJudge {
  const callTimes: number[] = [];
  const metrics: VerdictMetrics = {
    ...noopMetrics,
    enabled: true,
    upstreamAttempt: (_upstream, status, seconds) => void (/^2\d\d$/.test(status) && callTimes.push(seconds * 1000)),
  };
  const observing = { upstream: "judge" as const, metrics, clock, timeoutMs: config.judge.timeout_ms };
  const redacted = redactingFetch(fetch, secrets);
  // The SDK's calls (Root Signals) go through the observed fetch, verdict's own through the observed exchange: each
  // attempt is seen once.
  const exchange = observedExchange({ ...observing, exchange: redactingExchange(exchangeOverFetch(redacted), secrets) });
  const upstream = createJudgeUpstream(config, observedFetch({ ...observing, fetch: redacted }), undefined, exchange);
  return { backend: createJudgeBackend(config, upstream), callTimes };
}
