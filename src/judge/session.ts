// The judge as one request sees it: cache in front of the backend, and counts of calls, hits and tokens.
import type { Judge, PairInput, PairVerdict } from "../../strategies/types";
import { cacheKey } from "../cache/key";
import type { JudgmentCache } from "../cache/types";
import { ProxyError } from "../errors";
import { addUsage, ZERO_USAGE, type Usage } from "../openai/chat";
import type { JudgeBackend } from "./backend";

export interface JudgeStats {
  calls: number;
  cache_hits: number;
  usage: Usage;
  /** Judgments whose text could not be parsed after a retry; each counted as a tie. */
  unparsed: number;
}

interface CachedPair {
  verdict: PairVerdict;
}

/** Marks a judge failure so the pipeline can apply judge.on_error instead of failing like an upstream error. */
export function judgeUnavailable(cause: unknown): ProxyError {
  const reason = cause instanceof ProxyError ? cause.message : "judge call failed";
  return new ProxyError(502, `judge unavailable: ${reason}`, { type: "judge_error", code: "judge_unavailable" });
}

export function isJudgeUnavailable(err: unknown): err is ProxyError {
  return err instanceof ProxyError && err.code === "judge_unavailable";
}

export function createJudgeSession(backend: JudgeBackend, cache: JudgmentCache): { judge: Judge; stats: JudgeStats } {
  const stats: JudgeStats = { calls: 0, cache_hits: 0, usage: ZERO_USAGE, unparsed: 0 };
  const judge: Judge = {
    async compare(input: PairInput, signal?: AbortSignal): Promise<PairVerdict> {
      const key = await cacheKey({
        ...backend.identity,
        task: "pairwise",
        inputs: [input.conversation, input.a.text, input.b.text],
      });
      const hit = (await cache.get(key)) as CachedPair | undefined;
      if (hit?.verdict) {
        stats.cache_hits += 1;
        return hit.verdict;
      }
      let judged;
      try {
        judged = await backend.comparePair(input, signal ?? new AbortController().signal);
      } catch (err) {
        if (err instanceof ProxyError && err.status === 499) throw err;
        throw judgeUnavailable(err);
      }
      stats.calls += judged.calls;
      stats.usage = addUsage(stats.usage, judged.usage);
      if (!judged.value.parsed) stats.unparsed += 1;
      // An unparseable answer is not a judgment worth keeping: the next request should ask again.
      else await cache.set(key, { verdict: judged.value } satisfies CachedPair);
      return judged.value;
    },
  };
  return { judge, stats };
}
