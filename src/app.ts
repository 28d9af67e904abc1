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
import { observedFetch } from "./metrics/fetch";
import type { VerdictMetrics } from "./metrics/verdict";
import { observeRequests, probeOf } from "./observe/middleware";
import { createObservability, type Clock, type Observability } from "./observe/setup";
import { handleChatCompletions } from "./routes/chat";
import { serveMetrics } from "./routes/metrics";
import { listModels } from "./routes/models";
import type { Tracer } from "./trace/tracer";
import { passThrough, type PassThroughTarget } from "./passthrough";
import type { PipelineDeps } from "./pipeline";
import { createUpstream, type FetchLike } from "./upstream";

export interface Logger {
  /** Optional: loggers without a debug level simply drop these. */
  debug?(event: Record<string, unknown>): void;
  info(event: Record<string, unknown>): void;
  warn(event: Record<string, unknown>): void;
  error(event: Record<string, unknown>): void;
}

export const silentLogger: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

export interface AppDeps {
  config: Config;
  fetch?: FetchLike;
  cache?: JudgmentCache;
  /** Replaces the OpenAI-compatible judge (tests use scripted judges; issue-specific backends plug in here). */
  judge?: JudgeBackend;
  logger?: Logger;
  /** Defaults follow config.metrics / config.tracing; the clock (epoch ms) times requests and spans. */
  metrics?: VerdictMetrics;
  tracer?: Tracer;
  clock?: Clock;
}

export interface AppContext {
  config: Config;
  pipeline: PipelineDeps;
  generatorTarget: PassThroughTarget;
  logger: Logger;
  observe: Observability;
}

export function createApp(deps: AppDeps): Hono {
  const { config } = deps;
  const fetchImpl = deps.fetch ?? globalThis.fetch.bind(globalThis);
  const logger = deps.logger ?? silentLogger;
  const observe = createObservability(config, fetchImpl, deps);
  // Each upstream gets its own observed fetch, so every HTTP attempt (SDK retries included) is counted by role.
  const upstreamFetch = (role: "generator" | "judge", timeoutMs: number) =>
    observedFetch({ upstream: role, fetch: fetchImpl, metrics: observe.metrics, clock: observe.clock, timeoutMs });
  const generatorFetch = upstreamFetch("generator", config.generator.timeout_ms);
  const generator = createUpstream("generator", config.generator, generatorFetch);
  const judgeUpstream = createUpstream("judge", { ...config.judge, ...judgeEndpoint(config) }, upstreamFetch("judge", config.judge.timeout_ms));
  observe.metrics.trackQueue("generator", () => generator.pending);
  observe.metrics.trackQueue("judge", () => judgeUpstream.pending);
  const ctx: AppContext = {
    config,
    logger,
    observe,
    pipeline: {
      generator,
      judge: deps.judge ?? createOpenAIJudge(judgeUpstream, config.judge),
      cache: deps.cache ?? createMemoryCache(config.cache),
      nSupport: { value: config.generator.supports_n },
      onJudgeError: config.judge.on_error,
    },
    generatorTarget: {
      baseURL: generator.baseURL,
      apiKey: config.generator.api_key,
      timeoutMs: config.generator.timeout_ms,
      fetch: generatorFetch,
    },
  };

  const app = new Hono();
  // A client's id is kept when it is 1-128 characters of [A-Za-z0-9_=-] (safe in logs and headers), else replaced.
  app.use("*", requestId({ headerName: "x-request-id", limitLength: 128 }));
  app.use("*", observeRequests({ ...observe, logger, logContent: config.log.content }));
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
  app.get("/metrics", (c) => serveMetrics(c, ctx));
  app.post("/v1/chat/completions", (c) => handleChatCompletions(c, ctx));
  app.get("/v1/models", (c) => listModels(c, ctx));
  app.all("/v1/*", (c) => passThrough(ctx.generatorTarget, c.req.raw, c.req.path.slice("/v1".length), undefined, probeOf(c).headers));

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
