// Upstream retries: jittered exponential backoff on 408/409/429/5xx and connection failures, honouring retry-after
// up to a cap, never past the request's deadline.
//
// Why verdict owns retries instead of the openai SDK's `maxRetries` (which is set to 0): the SDK sleeps between
// attempts without watching the abort signal, so a cancelled or over-budget request would keep waiting; it honours any
// retry-after up to 60 s, longer than most request budgets; and it cannot know the request's deadline. Here the wait
// is abortable, retry-after is capped by `retry.max_retry_after_ms` (longer asks go back to the client with their
// retry-after), and no wait is started that would end after the deadline.
import OpenAI from "openai";
import { isRetryableStatus, ProxyError } from "./errors";
import { called } from "./util/called";

export interface RetryPolicy {
  /** Retries after the first attempt. */
  maxRetries: number;
  baseDelayMs: number;
  maxDelayMs: number;
  maxRetryAfterMs: number;
  random: () => number;
  now: () => number;
  /** Told of each retry about to be made (metrics count them). */
  onRetry?: () => void;
}

export interface FailureKind {
  retryable: boolean;
  /** What the upstream asked for, when it said. */
  retryAfterMs?: number | undefined;
}

/** retry-after-ms (OpenAI's), then retry-after as seconds or as an HTTP date. */
/** What retryAfterMs reads: a Headers object, or a lookup over plain headers (src/exchange.ts). */
export type HeaderReader = Pick<Headers, "get">;

export function retryAfterMs(headers: HeaderReader | undefined | null, now: number = Date.now()): number | undefined {
  const millis = headers?.get("retry-after-ms");
  if (millis && Number.isFinite(Number(millis))) return Math.max(0, Number(millis));
  const value = headers?.get("retry-after");
  if (!value) return undefined;
  if (/^\s*\d+(\.\d+)?\s*$/.test(value)) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** How an error thrown by an openai SDK call should be treated. */
export function classifySdkError(err: unknown): FailureKind {
  if (err instanceof ProxyError) return { retryable: false }; // verdict's own refusal (queue full): retrying adds load
  if (err instanceof OpenAI.APIUserAbortError || (err as Error)?.name === "AbortError") return { retryable: false };
  if (err instanceof OpenAI.APIError && err.status !== undefined) {
    return { retryable: isRetryableStatus(err.status), retryAfterMs: retryAfterMs(err.headers) };
  }
  // Connection refused or reset, the SDK's per-call timeout, a body cut off mid-way or not JSON at all: transient.
  return { retryable: true };
}

/**
 * The least verdict waits before retry number `attempt + 1` (its jitter only adds), or null when it would not wait at
 * all: the upstream asked for longer than `maxRetryAfterMs`.
 */
function leastDelay(policy: RetryPolicy, attempt: number, failure: FailureKind): number | null {
  if (failure.retryAfterMs !== undefined) return failure.retryAfterMs > policy.maxRetryAfterMs ? null : failure.retryAfterMs;
  // "Equal jitter": half the exponential step fixed, half random; spreads a burst without ever retrying instantly.
  return Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt) / 2;
}

/** The wait before retry number `attempt + 1`, or null when the failure should be returned now. */
export function nextDelay(policy: RetryPolicy, attempt: number, failure: FailureKind, remainingMs: number): number | null {
  if (!failure.retryable || attempt >= policy.maxRetries) return null;
  const least = leastDelay(policy, attempt, failure);
  if (least === null) return null;
  // On top of a retry-after, a little jitter, so every request told "1 s" does not return in the same millisecond.
  const delay = failure.retryAfterMs !== undefined ? least * (1 + 0.1 * policy.random()) : least + policy.random() * least;
  return delay < remainingMs ? delay : null;
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(false);
    const done = (completed: boolean) => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      resolve(completed);
    };
    const onAbort = () => done(false);
    const timer = setTimeout(() => done(true), ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Runs `attempt` until it succeeds, the failure is final, retries run out or the next wait would miss the deadline.
 * The first attempt is followed with catch, and the async loop starts only once one has failed: nearly every call
 * succeeds at once, and a suspended async frame per call is more for the garbage collector to copy while it waits.
 */
export function withRetries<T>(
  attempt: (index: number) => Promise<T>,
  classify: (err: unknown) => FailureKind,
  policy: RetryPolicy,
  signal?: AbortSignal,
  deadline?: number,
): Promise<T> {
  return called(attempt, 0).catch((err: unknown) => retried(err, attempt, classify, policy, signal, deadline));
}

/** Failures that were the last of several attempts: verdict retried them as far as its policy allowed. */
const retriedFailures = new WeakSet<object>();

/** Whether `err` ended a call that verdict had already retried (at least one retry was sent). */
export function wasRetried(err: unknown): boolean {
  return typeof err === "object" && err !== null && retriedFailures.has(err);
}

/**
 * `err`, marked as the end of a call verdict retried as far as its policy allows: one retry at least, and the last
 * failure one it would have retried had retries been left. Not a failure that is final in itself (verdict's own full
 * queue, a 400), nor one whose wait verdict would not start (longer than retry.max_retry_after_ms, or past the
 * request's deadline): the client may come back then.
 */
function givenUp(err: unknown, retries: number, kind: FailureKind, policy: RetryPolicy, remainingMs: number): unknown {
  const least = kind.retryable ? leastDelay(policy, retries, kind) : null;
  const wouldWait = least !== null && least < remainingMs;
  if (retries > 0 && retries >= policy.maxRetries && wouldWait && typeof err === "object" && err !== null) retriedFailures.add(err);
  return err;
}

/** After attempt 0 failed with `failure`: waits and tries again, as withRetries says. */
async function retried<T>(
  failure: unknown,
  attempt: (index: number) => Promise<T>,
  classify: (err: unknown) => FailureKind,
  policy: RetryPolicy,
  signal: AbortSignal | undefined,
  deadline: number | undefined,
): Promise<T> {
  let err = failure;
  for (let index = 0; ; index++) {
    if (signal?.aborted) throw err;
    const remaining = deadline === undefined ? Infinity : deadline - policy.now();
    const kind = classify(err);
    const delay = nextDelay(policy, index, kind, remaining);
    // Aborted while waiting: the last upstream error is still the truest account of what happened.
    if (delay === null) throw givenUp(err, index, kind, policy, remaining);
    if (!(await sleep(delay, signal))) throw err;
    policy.onRetry?.(); // counted as it is sent: a wait cut short (the client left) sends no retry
    try {
      return await attempt(index + 1);
    } catch (next) {
      err = next;
    }
  }
}
