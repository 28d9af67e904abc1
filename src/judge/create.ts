// Builds the configured judge backend: an OpenAI-compatible server, or the Root Signals evaluator API.
import { judgeEndpoint, type Config } from "../config";
import { createUpstream, type Backoff, type FetchLike } from "../upstream";
import type { JudgeBackend } from "./backend";
import { createOpenAIJudge } from "./openai-judge";
import { createRootSignalsJudge } from "./root-signals";

export function createJudgeBackend(config: Config, fetchImpl: FetchLike, backoff?: Backoff): JudgeBackend {
  const { judge } = config;
  const settings = { ...judge, ...judgeEndpoint(config) };
  if (judge.backend === "root-signals") {
    const upstream = createUpstream("judge", settings, fetchImpl, { authorization: (key) => `Api-Key ${key}`, backoff });
    return createRootSignalsJudge(upstream, judge);
  }
  // loadConfig guarantees a model for this backend.
  return createOpenAIJudge(createUpstream("judge", settings, fetchImpl, { backoff }), { ...judge, model: judge.model! });
}
