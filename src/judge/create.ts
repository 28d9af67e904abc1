// Builds the configured judge: its upstream (auth scheme per backend) and its backend, an OpenAI-compatible server
// or the Root Signals evaluator API.
import { judgeEndpoint, type Config } from "../config";
import type { Exchange } from "../exchange";
import { createUpstream, type Backoff, type FetchLike, type Upstream } from "../upstream";
import type { JudgeBackend } from "./backend";
import { createOpenAIJudge } from "./openai-judge";
import { createRootSignalsJudge } from "./root-signals";

/** `exchange`, when given, carries the lean judge calls (by default an exchange over `fetchImpl`). */
export function createJudgeUpstream(config: Config, fetchImpl: FetchLike, backoff?: Backoff, exchange?: Exchange): Upstream {
  const settings = { ...config.judge, ...judgeEndpoint(config) };
  // Root Signals takes its key as `Api-Key <key>`, not as a bearer token.
  const authorization = config.judge.backend === "root-signals" ? (key: string) => `Api-Key ${key}` : undefined;
  return createUpstream("judge", settings, fetchImpl, {
    ...(authorization ? { authorization } : {}),
    ...(backoff ? { backoff } : {}),
    ...(exchange ? { exchange } : {}),
  });
}

export function createJudgeBackend(config: Config, upstream: Upstream): JudgeBackend {
  const { judge } = config;
  if (judge.backend === "root-signals") return createRootSignalsJudge(upstream, judge);
  // loadConfig guarantees a model for this backend.
  return createOpenAIJudge(upstream, { ...judge, model: judge.model! });
}
