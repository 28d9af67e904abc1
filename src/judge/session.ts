// The judge as one request sees it: cache in front of the backend, and counts of calls, hits and tokens.
import type { GroundingInput, GroundingVerdict, Judge, PairInput, PairVerdict, ScoreInput, ScoreVerdict } from "../../strategies/types";
import { canonicalJson, keyTemplate, sha256Hex } from "../cache/key";
import { noCache, type JudgmentCache, type SharedAccess } from "../cache/types";
import { cancelledError, NO_CLIENT_RETRY, ProxyError } from "../errors";
import { unwatchAbort, watchAbort } from "../util/abort-watch";
import { addUsage, ZERO_USAGE, type ReportedUsage, type Usage } from "../openai/chat";
import { noopProbe, type JudgmentMeta, type RequestProbe } from "../observe/probe";
import { called } from "../util/called";
import { FailedAfterSpending, type CallOptions, type JudgeBackend, type Judged, type RequestMemo } from "./backend";
import { isStoredGrounding, isStoredPair, isStoredScore } from "./stored";

export interface JudgeStats {
  calls: number;
  cache_hits: number;
  usage: Usage;
  /** Judgments whose text could not be parsed after a retry (a pair counts as a tie, a score as mid-scale). */
  unparsed: number;
  /** Reported by backends that bill per run (Root Signals); absent otherwise. */
  cost?: number;
  execution_log_ids?: string[];
}

/**
 * Marks a judge failure so the pipeline can apply judge.on_error instead of failing like an upstream error. A judge
 * that asked to be left alone for a while (429, or 503 with a retry-after) keeps that status and its retry-after: the
 * client should come back later, not think verdict is broken.
 */
export function judgeUnavailable(cause: unknown): ProxyError {
  const reason = cause instanceof ProxyError ? cause.message : "judge call failed";
  const retryAfter = cause instanceof ProxyError ? cause.headers["retry-after"] : undefined;
  const overloaded = cause instanceof ProxyError && (cause.status === 429 || (cause.status === 503 && retryAfter !== undefined));
  // The judge's retried failure says so to the client, as the generator's does (src/errors.ts, afterRetries).
  const retried = cause instanceof ProxyError && cause.headers["x-should-retry"] !== undefined;
  return new ProxyError(overloaded ? cause.status : 502, `judge unavailable: ${reason}`, {
    type: "judge_error",
    code: "judge_unavailable",
    headers: { ...(overloaded && retryAfter ? { "retry-after": retryAfter } : {}), ...(retried ? NO_CLIENT_RETRY : {}) },
    cause,
  });
}

export function isJudgeUnavailable(err: unknown): err is ProxyError {
  return err instanceof ProxyError && err.code === "judge_unavailable";
}

type Task = JudgmentMeta["task"];

/**
 * A judgment's key text: backend identity, template and the digests of its inputs (judged() below). The fixed part is
 * serialised once per backend and task (keyed by the identity object, which the per-request wrappers of a backend
 * share), not once per judgment.
 */
const keyTexts = new WeakMap<object, Map<Task, (inputs: unknown[]) => string>>();
function keyText(backend: JudgeBackend, task: Task, inputs: unknown[]): string {
  let byTask = keyTexts.get(backend.identity);
  if (byTask === undefined) keyTexts.set(backend.identity, (byTask = new Map()));
  let text = byTask.get(task);
  if (text === undefined) byTask.set(task, (text = keyTemplate({ ...backend.identity, template: backend.templates[task] }, "inputs")));
  return text(inputs);
}

/**
 * Judgments being made right now, per cache (so per app) and key: a request that asks for one already on its way waits
 * for it and takes it as a cache hit, instead of paying the judge for it again (identical requests at once, a client's
 * retry). Each holds the judgment's verdict once made, or undefined when there is none to share (unreadable, failed,
 * cancelled), and the waiting request then asks the judge itself.
 */
const inFlightByCache = new WeakMap<JudgmentCache, Map<string, Promise<unknown>>>();

/** `pending`, or the reason `signal` aborts with, whichever comes first: a waiting request leaves when its own work ends. */
function waitedFor<T>(pending: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return pending;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const leave = () => reject(signal.reason);
    watchAbort(signal, leave);
    pending.then(
      (value) => (unwatchAbort(signal, leave), resolve(value)),
      (err: unknown) => (unwatchAbort(signal, leave), reject(err)),
    );
  });
}

export function createJudgeSession(
  backend: JudgeBackend,
  cache: JudgmentCache,
  probe: RequestProbe = noopProbe,
  /** How this request reaches a shared cache layer: within its bound on calls in flight, when it has one. */
  sharedAccess?: SharedAccess,
  /**
   * Whether judgments in flight are shared between requests (see inFlightByCache). Not on Workers, where a promise
   * settled by another request's I/O must not be awaited.
   */
  shareInFlight = true,
): { judge: Judge; stats: JudgeStats } {
  const stats: JudgeStats = { calls: 0, cache_hits: 0, usage: ZERO_USAGE, unparsed: 0 };
  const memo: RequestMemo = new Map();
  // What stands for an input in a key: the SHA-256 of its canonical JSON. A request's judgments share their inputs
  // (the conversation in all of them, each candidate in every match it plays, in both orders), so each is serialised
  // and hashed once per request, and a key hashes a few digests instead of every text again. Scalars stand for
  // themselves.
  const textDigests = new Map<string, string | Promise<string>>();
  const objectDigests = new WeakMap<object, string | Promise<string>>();
  const digestOf = (input: unknown): unknown => {
    if (typeof input === "string") {
      let digest = textDigests.get(input);
      if (digest === undefined) textDigests.set(input, (digest = sha256Hex(JSON.stringify(input))));
      return digest;
    }
    if (input === null || typeof input !== "object") return input;
    let digest = objectDigests.get(input);
    if (digest === undefined) objectDigests.set(input, (digest = sha256Hex(canonicalJson(input))));
    return digest;
  };
  const caching = cache !== noCache;
  let inFlight: Map<string, Promise<unknown>> | null = null;
  if (caching && shareInFlight) {
    inFlight = inFlightByCache.get(cache) ?? new Map();
    inFlightByCache.set(cache, inFlight);
  }

  /** One judgment through the cache: the key covers backend, template, parameters and the inputs in their order. */
  async function judged<T extends PairVerdict | ScoreVerdict | GroundingVerdict>(
    meta: JudgmentMeta,
    inputs: unknown[],
    run: (call: CallOptions) => Promise<Judged<T>>,
    stored: (value: unknown) => value is T,
    signal?: AbortSignal,
  ): Promise<T> {
    const watch = probe.judgment(meta, caching);
    const digests: unknown[] = [];
    for (const input of inputs) {
      const digest = digestOf(input);
      digests.push(digest instanceof Promise ? await digest : digest);
    }
    const hashed = sha256Hex(keyText(backend, meta.task, digests));
    const key = hashed instanceof Promise ? await hashed : hashed;
    // A shared layer may answer slowly (just inside redis_timeout_ms): the read is left when the request's work ends, so
    // that a judging cut-off finds this judgment stopped in time, as it would a judge call.
    let hit: { value?: unknown } | null | undefined;
    try {
      hit = (await waitedFor(cache.get(key, sharedAccess), signal)) as typeof hit;
    } catch (err) {
      watch.failed(stoppedWhy(signal) ?? err);
      throw failedJudgment(err);
    }
    // What another writer left under the key (JSON null included), or a shape this version would not keep, is a miss
    // (src/judge/stored.ts).
    if (typeof hit === "object" && hit !== null && stored(hit.value)) {
      stats.cache_hits += 1;
      watch.done({ cached: true, calls: 0, usage: ZERO_USAGE, value: hit.value });
      return hit.value;
    }
    const pending = inFlight?.get(key);
    if (pending !== undefined) {
      let shared: T | undefined;
      try {
        shared = (await waitedFor(pending, signal)) as T | undefined;
      } catch (err) {
        watch.failed(err);
        throw failedJudgment(err);
      }
      if (shared !== undefined) {
        stats.cache_hits += 1;
        watch.done({ cached: true, calls: 0, usage: ZERO_USAGE, value: shared });
        return shared;
      }
    }
    // Returned, not awaited: this frame ends here instead of waiting out the judge's answer (src/util/called.ts says why
    // that matters).
    // Calls counted as the judge answered them (backends that say so); the others are counted when the judgment ends.
    let countedLive = false;
    const spent = (usage: ReportedUsage | null | undefined) => {
      countedLive = true;
      stats.calls += 1;
      stats.usage = addUsage(stats.usage, usage);
    };
    const judgment = called(run, { headers: watch.headers, memo, spent }).then(
      (result) => {
        watch.done({ cached: false, calls: result.calls, usage: result.usage, value: result.value });
        return kept(key, result, !countedLive, signal);
      },
      (thrown: unknown) => {
        const spentBefore = thrown instanceof FailedAfterSpending ? thrown.spent : undefined;
        if (spentBefore && !countedLive) counted(spentBefore);
        const err = spentBefore ? (thrown as FailedAfterSpending).failure : thrown;
        watch.failed(stoppedWhy(signal) ?? err, spentBefore);
        throw failedJudgment(err);
      },
    );
    if (inFlight !== null) {
      const flights = inFlight;
      const shared = judgment.then((value) => (value.parsed ? value : undefined), () => undefined);
      flights.set(key, shared);
      void shared.then(() => flights.get(key) === shared && flights.delete(key));
    }
    return judgment;
  }

  /**
   * Why the caller stopped a judgment, for its trace: verdict's own reason (the judging cut-off, a spent budget), else
   * a cancellation (a round-robin settled early, the client left), which is no judge error.
   */
  function stoppedWhy(signal: AbortSignal | undefined): ProxyError | undefined {
    if (!signal?.aborted) return undefined;
    return signal.reason instanceof ProxyError ? signal.reason : cancelledError();
  }

  /** A cancelled request and a full queue are not the judge's failure: they keep their own status (499, 429). */
  function failedJudgment(err: unknown): unknown {
    if (err instanceof ProxyError && (err.status === 499 || err.code === "queue_full")) return err;
    return judgeUnavailable(err);
  }

  /** Calls a judgment made, in the request's stats: those of a judgment that failed partway too. */
  function counted(spent: Omit<Judged<unknown>, "value">): void {
    stats.calls += spent.calls;
    stats.usage = addUsage(stats.usage, spent.usage);
    if (spent.cost !== undefined) stats.cost = (stats.cost ?? 0) + spent.cost;
    if (spent.log_ids?.length) stats.execution_log_ids = [...(stats.execution_log_ids ?? []), ...spent.log_ids];
  }

  /**
   * A judgment the judge made: counted in the request's stats (unless its calls were, as they answered) and cached.
   * Its write is waited for until the request's work ends, and then goes on without it (a slow shared layer must not
   * hold a judgment that is already in hand past a judging cut-off).
   */
  function kept<T extends PairVerdict | ScoreVerdict | GroundingVerdict>(key: string, result: Judged<T>, countCalls: boolean, signal?: AbortSignal): T | Promise<T> {
    if (countCalls) counted(result);
    // An unparseable answer is not a judgment worth keeping: the next request should ask again.
    if (!result.value.parsed) {
      stats.unparsed += 1;
      return result.value;
    }
    return waitedFor(cache.set(key, { value: result.value }, undefined, sharedAccess), signal).then(
      () => result.value,
      () => result.value,
    );
  }

  const judge: Judge = {
    compare(input: PairInput, signal?: AbortSignal): Promise<PairVerdict> {
      const inputs = [input.conversation, input.a.text, input.b.text, input.attempt ?? 0];
      const meta: JudgmentMeta = { task: "pairwise", a: input.a.index, b: input.b.index, attempt: input.attempt ?? 0 };
      return judged(meta, inputs, (call) => backend.comparePair(input, signal ?? new AbortController().signal, call), isStoredPair, signal);
    },
    score(input: ScoreInput, signal?: AbortSignal): Promise<ScoreVerdict> {
      const inputs = [input.conversation, input.rubric, input.scale, input.candidate.text];
      const meta: JudgmentMeta = { task: "rubric", a: input.candidate.index, attempt: 0 };
      return judged(meta, inputs, (call) => backend.scoreRubric(input, signal ?? new AbortController().signal, call), (v): v is ScoreVerdict => isStoredScore(v, input.scale), signal);
    },
    checkGrounding(input: GroundingInput, signal?: AbortSignal): Promise<GroundingVerdict> {
      const inputs = [input.question, input.documents, input.answer];
      // The index names the candidate in traces and spans only: the same answer text is the same judgment.
      const meta: JudgmentMeta = { task: "grounding", a: input.index ?? -1, attempt: 0 };
      return judged(meta, inputs, (call) => backend.checkGrounding(input, signal ?? new AbortController().signal, call), isStoredGrounding, signal);
    },
  };
  return { judge, stats };
}
