// The Workers handler: config from vars and secrets, the app built once per isolate, judgments in KV behind the
// isolate's memory cache, at most 6 upstream calls in flight per request. worker.ts exports it as the entry point.
import { createApp, type Logger } from "../app";
import { createKvCache, type KvNamespaceLike } from "../cache/kv";
import { createLayeredCache } from "../cache/layered";
import { createMemoryCache } from "../cache/memory";
import { ConfigError, loadConfig, type Config } from "../config";
import { errorResponse, ProxyError } from "../errors";

/** Workers keep at most six connections open per invocation; more would queue inside the runtime, unbounded by us. */
export const WORKERS_MAX_INFLIGHT = 6;

export interface WorkerEnv {
  /** The JSON config file's content (a string var, or a JSON object var); secrets and plain vars override fields. */
  VERDICT_CONFIG_JSON?: string | Record<string, unknown>;
  /** KV namespace shared by every isolate for judgments (optional: without it, each isolate caches on its own). */
  VERDICT_KV?: KvNamespaceLike;
  [name: string]: unknown;
}

/** The part of the ExecutionContext the adapter uses. */
export interface WaitUntil {
  waitUntil(promise: Promise<unknown>): void;
}

type Built = { fetch: (request: Request, env: WorkerEnv, ctx: WaitUntil) => Promise<Response>; settle(): Promise<void> } | { error: ProxyError };

const consoleLogger: Logger = {
  info: (event) => console.log(JSON.stringify({ level: "info", ...event })),
  warn: (event) => console.warn(JSON.stringify({ level: "warn", ...event })),
  error: (event) => console.error(JSON.stringify({ level: "error", ...event })),
};

function configOf(env: WorkerEnv): Config {
  // Only text vars and secrets can be overrides: bindings (KV, services) are objects.
  const strings = Object.fromEntries(Object.entries(env).filter((entry): entry is [string, string] => typeof entry[1] === "string"));
  const raw = env.VERDICT_CONFIG_JSON;
  const fileText = typeof raw === "object" && raw !== null ? JSON.stringify(raw) : raw;
  const config = loadConfig(strings, fileText, "VERDICT_CONFIG_JSON");
  if (config.cache.backend === "redis") {
    throw new ConfigError(['cache.backend: "redis" needs a TCP client and runs on Node only; on Workers bind a KV namespace as VERDICT_KV']);
  }
  const configured = config.limits.max_inflight_per_request ?? WORKERS_MAX_INFLIGHT;
  // A call waiting in a queue shared by the isolate's requests is started from another request's context, which
  // Workers cancel (as hung, or as I/O on behalf of another request). So no shared queue ever holds a call back here:
  // the per-request bound is the one limit, and concurrency / interval_* / max_queued do not apply on Workers.
  const unqueued = { concurrency: Infinity, interval_ms: undefined, interval_cap: undefined };
  return {
    ...config,
    generator: { ...config.generator, ...unqueued },
    judge: { ...config.judge, ...unqueued },
    limits: { ...config.limits, max_inflight_per_request: Math.min(configured, WORKERS_MAX_INFLIGHT) },
  };
}

function build(env: WorkerEnv, logger: Logger): Built {
  let config: Config;
  try {
    config = configOf(env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    logger.error({ event: "invalid_config", problems: err.problems });
    const message = `invalid verdict configuration: ${err.problems.join("; ")}`;
    return { error: new ProxyError(500, message, { type: "server_error", code: "invalid_config" }) };
  }
  const memory = createMemoryCache(config.cache);
  const cache = env.VERDICT_KV
    ? createLayeredCache({
        front: memory,
        back: createKvCache(env.VERDICT_KV, { ttl_ms: config.cache.ttl_ms }),
        name: "kv",
        // KV writes are slow and only eventually visible elsewhere: they run after the response, under waitUntil.
        writeBehind: true,
        warn: (event) => logger.warn(event),
        info: (event) => logger.info(event),
      })
    : null;
  const app = createApp({ config, cache: cache ?? memory, logger });
  return { fetch: async (request, env, ctx) => app.fetch(request, env, ctx as ExecutionContextForHono), settle: () => cache?.settle() ?? Promise.resolve() };
}

type ExecutionContextForHono = Parameters<ReturnType<typeof createApp>["fetch"]>[2];

/** A worker with its own per-isolate state; the default export is one, tests make fresh ones. */
export function createWorker(logger: Logger = consoleLogger) {
  let built: Built | undefined;
  return {
    async fetch(request: Request, env: WorkerEnv, ctx: WaitUntil): Promise<Response> {
      // Once per isolate: vars and secrets cannot change without a new deployment, which starts new isolates.
      built ??= build(env, logger);
      if ("error" in built) return errorResponse(built.error);
      const response = await built.fetch(request, env, ctx);
      // Judgments reach KV after the response has gone; waitUntil keeps the isolate alive until they have.
      ctx.waitUntil(built.settle());
      return response;
    },
  };
}
