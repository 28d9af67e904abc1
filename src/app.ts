// The Hono app: routes, middleware and the one error renderer. Everything with I/O arrives through `deps`.
import { Hono } from "hono";
import { clientUpstreamKey, proxyAuth, type HeaderSource } from "./auth";
import { requestBodyLimit } from "./body-limit";
import { readWithinBudget } from "./budget";
import { generatorFor } from "./byok";
import { createMemoryCache } from "./cache/memory";
import type { JudgmentCache } from "./cache/types";
import { secretsOf, type Config } from "./config";
import { cancelledError, errorResponse, ProxyError, toProxyError } from "./errors";
import { createJudgeBackend, createJudgeUpstream } from "./judge/create";
import type { JudgeBackend } from "./judge/backend";
import { observedExchange, observedFetch } from "./metrics/fetch";
import { exchangeOverFetch, type Exchange } from "./exchange";
import type { VerdictMetrics } from "./metrics/verdict";
import { arrivedAt, observeRequests, probeOf, type ObserveOptions } from "./observe/middleware";
import { dropEvent } from "./observe/config";
import { createObservability, type Clock, type Observability } from "./observe/setup";
import { limiterFactory } from "./limiter";
import { handleChatCompletions } from "./routes/chat";
import { serveMetrics } from "./routes/metrics";
import { listModels, retrieveModel } from "./routes/models";
import { refuseMisroutedOptions } from "./routes/other";
import { handleResponses } from "./routes/responses";
import type { Tracer } from "./trace/tracer";
import { passThrough, pathBelowV1, type PassThroughTarget } from "./passthrough";
import { assignRequestId } from "./request-id";
import type { PipelineDeps } from "./pipeline";
import { createRedactor, keysInText, redactingExchange, redactingFetch, redactingLogger } from "./redact";
import { retryingExchange } from "./retry-exchange";
import { holdingSlotUntilBodyEnds } from "./stream-slot";
import { accountHeaders, createUpstream, type Backoff, type FetchLike } from "./upstream";

/**
 * Where events go. `serialised`, when given, is the event as JSON already (the redacting logger makes it to search it
 * for secrets): a logger that writes JSON may use it instead of serialising the event a second time.
 */
export interface Logger {
  /** Optional: loggers without a debug level simply drop these. */
  debug?(event: Record<string, unknown>, serialised?: string): void;
  info(event: Record<string, unknown>, serialised?: string): void;
  warn(event: Record<string, unknown>, serialised?: string): void;
  error(event: Record<string, unknown>, serialised?: string): void;
}

export const silentLogger: Logger = { debug: dropEvent, info: dropEvent, warn: dropEvent, error: dropEvent };

export interface AppDeps {
  config: Config;
  fetch?: FetchLike;
  /** How pass-through and the lean chat calls reach upstreams; by default an exchange over `fetch` (src/exchange.ts). */
  exchange?: Exchange;
  cache?: JudgmentCache;
  /** Replaces the OpenAI-compatible judge (tests use scripted judges; issue-specific backends plug in here). */
  judge?: JudgeBackend;
  logger?: Logger;
  /** Jitter source for retry backoff (tests pass a seeded one). */
  random?: () => number;
  /**
   * Whether a judgment one request is waiting for is shared with another that needs the same (default true). Workers
   * say false: there a promise settled by another request's I/O must not be awaited.
   */
  shareJudgmentsInFlight?: boolean;
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

export function observeOptionsOf({ observe, logger, config }: AppContext): ObserveOptions {
  const contentSecret = config.log.content && config.auth.forward_client_key ? (headers: HeaderSource) => clientUpstreamKey(headers, config.auth) : undefined;
  return { ...observe, logger, logContent: config.log.content, ...(contentSecret ? { contentSecret } : {}) };
}

/**
 * What a failed request answers. A failure verdict did not foresee is logged with its stack and answered as a bare
 * 500. When the client had already gone, a failure of verdict's own making is put down to its leaving (a body cut off
 * mid-upload, upstream calls aborted mid-way): a 499, not an error to alert on. Refusals of the request stay as they are.
 */
export function failureOf(err: unknown, requestId: string, logger: Logger, clientGone = false): ProxyError {
  // A 429 too: an upstream's rate limit whose retry-after wait the client's leaving cut short, as a 5xx's backoff.
  if (clientGone && (!(err instanceof ProxyError) || err.status >= 500 || err.status === 429)) return cancelledError();
  const proxyError = toProxyError(err);
  if (proxyError.status >= 500 && !(err instanceof ProxyError)) {
    logger.error({ event: "unhandled_error", request_id: requestId, error: String((err as Error)?.stack ?? err) });
  }
  return proxyError;
}

/**
 * The runtime's fetch (Workers'), answering a redirect with the 3xx itself, as Node's upstream client does: followed,
 * it would send the prompt to wherever the Location points, another host or plain http included.
 */
const runtimeFetch: FetchLike = (input, init) => globalThis.fetch(input, { ...init, redirect: "manual" });

const ENCODED_SEPARATOR = /%2f|%5c/i;

/** Everything a request needs, built once: upstreams, cache, observability, the pass-through target. */
export function createAppContext(deps: AppDeps): AppContext {
  const { config } = deps;
  const fetchImpl = deps.fetch ?? runtimeFetch;
  const secrets = secretsOf(config);
  const logger = redactingLogger(deps.logger ?? silentLogger, createRedactor(secrets));
  const observe = createObservability(config, fetchImpl, deps);
  const exchangeImpl = deps.exchange ?? exchangeOverFetch(fetchImpl);
  // Each upstream gets its own observed fetch and exchange, so every HTTP attempt is counted by role; error bodies are
  // scrubbed.
  const upstreamFetch = (role: "generator" | "judge", timeoutMs: number) =>
    redactingFetch(observedFetch({ upstream: role, fetch: fetchImpl, metrics: observe.metrics, clock: observe.clock, timeoutMs }), secrets);
  const upstreamExchange = (role: "generator" | "judge", timeoutMs: number) =>
    redactingExchange(observedExchange({ upstream: role, exchange: exchangeImpl, metrics: observe.metrics, clock: observe.clock, timeoutMs }), secrets);
  const backoff = (role: "generator" | "judge"): Backoff => ({
    baseDelayMs: config.retry.base_delay_ms,
    maxDelayMs: config.retry.max_delay_ms,
    maxRetryAfterMs: config.retry.max_retry_after_ms,
    random: deps.random ?? Math.random,
    now: Date.now,
    onRetry: () => observe.metrics.retried(role),
  });
  const generatorExchange = upstreamExchange("generator", config.generator.timeout_ms);
  const generator = createUpstream("generator", config.generator, upstreamFetch("generator", config.generator.timeout_ms), {
    backoff: backoff("generator"),
    exchange: generatorExchange,
  });
  const judgeTimeout = config.judge.timeout_ms;
  const judgeUpstream = createJudgeUpstream(config, upstreamFetch("judge", judgeTimeout), backoff("judge"), upstreamExchange("judge", judgeTimeout));
  observe.metrics.trackQueue("generator", () => generator.pending);
  observe.metrics.trackQueue("judge", () => judgeUpstream.pending);
  const ctx: AppContext = {
    config,
    logger,
    observe,
    pipeline: {
      generator,
      judge: deps.judge ?? createJudgeBackend(config, judgeUpstream),
      cache: deps.cache ?? createMemoryCache(config.cache),
      shareJudgmentsInFlight: deps.shareJudgmentsInFlight ?? true,
      nSupport: { value: config.generator.supports_n },
      onJudgeError: config.judge.on_error,
      streamSampling: config.generator.stream_sampling,
      scrubKeys: keysInText(secrets),
      limiter: limiterFactory(config.limits.max_inflight_per_request),
      judgeQueue: judgeUpstream,
      maxCandidateChars: config.limits.max_candidate_chars,
      inlineReasoning: config.generator.inline_reasoning,
    },
    generatorTarget: {
      baseURL: generator.baseURL,
      apiKey: config.generator.api_key,
      account: accountHeaders(generator.client),
      // generator.timeout_ms bounds each attempt until the headers, and then each silence of a stream.
      streamIdleMs: config.generator.timeout_ms,
      // Until the upstream's headers: each attempt gets generator.timeout_ms, all of them the whole request budget.
      // Each attempt through the generator's queue and rate limit, as verdict's own calls are: a JSON answer holds its
      // place until its whole body, a stream until its last byte (src/stream-slot.ts).
      exchange: retryingExchange(holdingSlotUntilBodyEnds(generator.admit, generatorExchange), {
        policy: { ...backoff("generator"), maxRetries: config.generator.max_retries },
        attemptMs: config.generator.timeout_ms,
        budgetMs: config.timeouts.request_ms,
      }),
    },
  };
  return ctx;
}

export function createApp(deps: AppDeps, ctx: AppContext = createAppContext(deps)): Hono {
  const { config, logger, observe } = ctx;
  // Not strict: "/v1/chat/completions/" is the chat route too, not a pass-through that would send `verdict` upstream.
  const app = new Hono({ strict: false });
  app.use("*", assignRequestId());
  app.use("*", observeRequests(observeOptionsOf(ctx)));
  app.use("/v1/*", proxyAuth(config.auth));
  app.use("/v1/*", requestBodyLimit(config.server.body_limit_bytes, config.timeouts.request_ms));

  app.get("/healthz", (c) => c.json({ status: "ok" }));
  app.get("/metrics", (c) => serveMetrics(c, ctx));
  app.post("/v1/chat/completions", (c) => handleChatCompletions(c, ctx));
  app.post("/v1/responses", (c) => handleResponses(c, ctx));
  app.get("/v1/models", (c) => listModels(c, ctx));
  app.get("/v1/models/*", (c) => retrieveModel(c, ctx));
  app.all("/v1/*", async (c) => {
    // Read first, within the budget (the body limit above bounds its size): bytes can be sent again, so these calls are
    // retried like chat ones, and an upload that stalls gets the budget's 504 instead of holding its connection.
    const method = c.req.method;
    const path = pathBelowV1(c.req.raw);
    // No OpenAI route has an encoded / or \ in it, and an upstream that decodes one would route the request elsewhere
    // (to its chat completions, say) than verdict did, past every check verdict makes there.
    // A model id may hold one (`ft:org/model`): DELETE /v1/models/{id} goes through here (GET through retrieveModel).
    // Only DELETE: no other method has a route there to be turned into another.
    if (ENCODED_SEPARATOR.test(path) && !(method === "DELETE" && path.startsWith("/models/"))) {
      throw new ProxyError(400, `no route for ${method} ${c.req.path}: a path may not hold an encoded / or \\`, { code: "invalid_path" });
    }
    const arrived = arrivedAt(c);
    const body = method === "GET" || method === "HEAD" ? undefined : new Uint8Array(await readWithinBudget(c.req.arrayBuffer(), arrived, config.timeouts.request_ms));
    refuseMisroutedOptions(method, path, c.req.raw.headers, body);
    return passThrough(generatorFor(ctx, c.req.raw.headers).target, c.req.raw, path, body, probeOf(c).headers, arrived);
  });

  app.notFound((c) => {
    const failure = new ProxyError(404, `no route for ${c.req.method} ${c.req.path}`, { code: "not_found" });
    c.error = failure; // what the log line reports
    return errorResponse(failure);
  });
  app.onError((err, c) => {
    const failure = failureOf(err, c.get("requestId"), logger, c.req.raw.signal.aborted);
    c.error = failure; // what the log line reports
    return errorResponse(failure, { "x-request-id": c.get("requestId") });
  });
  return app;
}
