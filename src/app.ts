// The Hono app: routes, middleware and the one error renderer. Everything with I/O arrives through `deps`.
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { requestId } from "hono/request-id";
import { proxyAuth } from "./auth";
import { generatorFor } from "./byok";
import { createMemoryCache } from "./cache/memory";
import type { JudgmentCache } from "./cache/types";
import type { Config } from "./config";
import { errorResponse, ProxyError, toProxyError } from "./errors";
import { createJudgeBackend } from "./judge/create";
import type { JudgeBackend } from "./judge/backend";
import { handleChatCompletions } from "./routes/chat";
import { listModels } from "./routes/models";
import { handleResponses } from "./routes/responses";
import { passThrough, type PassThroughTarget } from "./passthrough";
import type { PipelineDeps } from "./pipeline";
import { createRedactor, redactingFetch, redactingLogger } from "./redact";
import { retryingFetch } from "./retry-fetch";
import { createUpstream, type Backoff, type FetchLike } from "./upstream";

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
  /** Jitter source for retry backoff (tests pass a seeded one). */
  random?: () => number;
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
  // Every secret verdict holds; none may reach a response, an error message or a log line (src/redact.ts).
  const secrets = [config.generator.api_key, config.judge.api_key, ...config.auth.keys];
  const logger = redactingLogger(deps.logger ?? silentLogger, createRedactor(secrets));
  const upstreamFetch = redactingFetch(fetchImpl, secrets);
  const backoff: Backoff = {
    baseDelayMs: config.retry.base_delay_ms,
    maxDelayMs: config.retry.max_delay_ms,
    maxRetryAfterMs: config.retry.max_retry_after_ms,
    random: deps.random ?? Math.random,
    now: Date.now,
  };
  const generator = createUpstream("generator", config.generator, upstreamFetch, { backoff });
  const ctx: AppContext = {
    config,
    logger,
    pipeline: {
      generator,
      judge: deps.judge ?? createJudgeBackend(config, upstreamFetch, backoff),
      cache: deps.cache ?? createMemoryCache(config.cache),
      nSupport: { value: config.generator.supports_n },
      onJudgeError: config.judge.on_error,
      streamSampling: config.generator.stream_sampling,
    },
    generatorTarget: {
      baseURL: generator.baseURL,
      apiKey: config.generator.api_key,
      // Until the upstream's headers: the whole request budget; each attempt within it gets generator.timeout_ms.
      timeoutMs: config.timeouts.request_ms,
      fetch: retryingFetch(upstreamFetch, {
        policy: { ...backoff, maxRetries: config.generator.max_retries },
        attemptMs: config.generator.timeout_ms,
        budgetMs: config.timeouts.request_ms,
      }),
    },
  };

  const app = new Hono();
  app.use("*", requestId({ headerName: "x-request-id" }));
  app.use("/v1/*", proxyAuth(config.auth));
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
  app.post("/v1/responses", (c) => handleResponses(c, ctx));
  app.get("/v1/models", (c) => listModels(c, ctx));
  app.all("/v1/*", (c) => passThrough(generatorFor(ctx, c.req.raw.headers).target, c.req.raw, c.req.path.slice("/v1".length)));

  app.notFound((c) => errorResponse(new ProxyError(404, `no route for ${c.req.method} ${c.req.path}`, { code: "not_found" })));
  app.onError((err, c) => {
    const proxyError = toProxyError(err);
    if (proxyError.status >= 500 && !(err instanceof ProxyError)) {
      logger.error({ event: "unhandled_error", request_id: c.get("requestId"), error: String((err as Error)?.stack ?? err) });
    } else if (proxyError.status >= 500) {
      // Upstream trouble the client was told about; operators want it too (scrubbed by the redacting logger).
      const { status, code, message } = proxyError;
      logger.warn({ event: "request_failed", request_id: c.get("requestId"), status, code, message });
    }
    return errorResponse(proxyError, { "x-request-id": c.get("requestId") });
  });
  return app;
}
