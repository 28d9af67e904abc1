// The Hono app: routes, middleware and the one error renderer. Everything with I/O arrives through `deps`.
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { requestId } from "hono/request-id";
import { createMemoryCache } from "./cache/memory";
import type { JudgmentCache } from "./cache/types";
import { judgeEndpoint, type Config } from "./config";
import { errorResponse, ProxyError, toProxyError } from "./errors";
import { createOpenAIJudge } from "./judge/openai-judge";
import type { JudgeBackend } from "./judge/backend";
import { limiterFactory } from "./limiter";
import { handleChatCompletions } from "./routes/chat";
import { listModels } from "./routes/models";
import { passThrough, type PassThroughTarget } from "./passthrough";
import type { PipelineDeps } from "./pipeline";
import { createUpstream, type FetchLike } from "./upstream";

export interface Logger {
  info(event: Record<string, unknown>): void;
  warn(event: Record<string, unknown>): void;
  error(event: Record<string, unknown>): void;
}

export const silentLogger: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined };

export interface AppDeps {
  config: Config;
  fetch?: FetchLike;
  cache?: JudgmentCache;
  /** Replaces the OpenAI-compatible judge (tests use scripted judges; issue-specific backends plug in here). */
  judge?: JudgeBackend;
  logger?: Logger;
}

export interface AppContext {
  config: Config;
  pipeline: PipelineDeps;
  generatorTarget: PassThroughTarget;
  logger: Logger;
}

export function createApp(deps: AppDeps): Hono {
  const { config } = deps;
  const fetchImpl = deps.fetch ?? globalThis.fetch.bind(globalThis);
  const logger = deps.logger ?? silentLogger;
  const generator = createUpstream("generator", config.generator, fetchImpl);
  const judgeUpstream = createUpstream("judge", { ...config.judge, ...judgeEndpoint(config) }, fetchImpl);
  const ctx: AppContext = {
    config,
    logger,
    pipeline: {
      generator,
      judge: deps.judge ?? createOpenAIJudge(judgeUpstream, config.judge),
      cache: deps.cache ?? createMemoryCache(config.cache),
      nSupport: { value: config.generator.supports_n },
      onJudgeError: config.judge.on_error,
      limiter: limiterFactory(config.limits.max_inflight_per_request),
    },
    generatorTarget: {
      baseURL: generator.baseURL,
      apiKey: config.generator.api_key,
      timeoutMs: config.generator.timeout_ms,
      fetch: fetchImpl,
    },
  };

  const app = new Hono();
  app.use("*", requestId({ headerName: "x-request-id" }));
  app.use(
    "/v1/*",
    bodyLimit({
      maxSize: config.server.body_limit_bytes,
      onError: () => {
        throw new ProxyError(413, `request body is larger than ${config.server.body_limit_bytes} bytes`, { code: "body_too_large" });
      },
    }),
  );

  app.get("/healthz", (c) => c.json({ status: "ok" }));
  app.post("/v1/chat/completions", (c) => handleChatCompletions(c, ctx));
  app.get("/v1/models", (c) => listModels(c, ctx));
  app.all("/v1/*", (c) => passThrough(ctx.generatorTarget, c.req.raw, c.req.path.slice("/v1".length)));

  app.notFound((c) => errorResponse(new ProxyError(404, `no route for ${c.req.method} ${c.req.path}`, { code: "not_found" })));
  app.onError((err, c) => {
    const proxyError = toProxyError(err);
    if (proxyError.status >= 500 && !(err instanceof ProxyError)) {
      logger.error({ event: "unhandled_error", request_id: c.get("requestId"), error: String((err as Error)?.stack ?? err) });
    }
    return errorResponse(proxyError, { "x-request-id": c.get("requestId") });
  });
  return app;
}
