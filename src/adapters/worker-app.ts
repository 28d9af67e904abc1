// The Workers handler: config from vars and secrets, the app built once per isolate, judgments in KV behind the
// isolate's memory cache, at most 6 upstream calls in flight per request. worker.ts exports it as the entry point.
import { createApp, createAppContext, type Logger } from "../app";
import { createKvCache, isKvKeyRateLimit, type KvNamespaceLike } from "../cache/kv";
import { createLayeredCache } from "../cache/layered";
import { createMemoryCache } from "../cache/memory";
import { ConfigError, loadConfig, type Config } from "../config";
import { errorResponse, ProxyError } from "../errors";
import { dropEvent, LOG_LEVELS, type LogLevel } from "../observe/config";
import { requestIdFor } from "../request-id";

/** Workers keep at most six connections open per invocation; more would queue inside the runtime, unbounded by us. */
export const WORKERS_MAX_INFLIGHT = 6;

/**
 * The vars loadConfig reads as single-field overrides (ENV_OVERRIDES in src/config.ts, and ROOT_SIGNALS_API_KEY).
 * test/workers/config-vars.test.ts checks that this list is exactly what loadConfig reads.
 */
export const CONFIG_VARS = [
  "GENERATOR_BASE_URL",
  "GENERATOR_API_KEY",
  "GENERATOR_MODEL",
  "JUDGE_BASE_URL",
  "JUDGE_API_KEY",
  "JUDGE_MODEL",
  "JUDGE_BACKEND",
  "PORT",
  "VERDICT_N",
  "VERDICT_API_KEYS",
  "LOG_LEVEL",
  "METRICS_TOKEN",
  "OTEL_EXPORTER_OTLP_ENDPOINT",
  "ROOT_SIGNALS_API_KEY",
] as const;

/** The vars loadConfig splits into a list, with the separator it splits on. */
const LIST_SEPARATORS: Partial<Record<(typeof CONFIG_VARS)[number], string>> = { VERDICT_API_KEYS: "," };

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
  passThroughOnException?(): void;
  props?: unknown;
}

/** Makes the logger once the config says which level to log at. */
export type LoggerForLevel = (level: LogLevel) => Logger;

type ExecutionContextForHono = Parameters<ReturnType<typeof createApp>["fetch"]>[2];

interface Running {
  fetch(request: Request, env: WorkerEnv, ctx: ExecutionContextForHono): Promise<Response>;
  /** What must still happen once a request's work has ended: its KV writes finished, its spans exported. */
  afterWork(): Promise<void>;
}

type Built = Running | { error: ProxyError };

/**
 * One JSON line per event on the console (Workers Logs and `wrangler tail` read it), events below `level` dropped, by
 * the order of LOG_LEVELS as on Node. Not the Node logger itself: its module (node.ts) loads node:http and node:fs.
 */
export const consoleLoggerAt: LoggerForLevel = (level) => {
  const threshold = LOG_LEVELS.indexOf(level);
  const printer = (name: LogLevel, print: (line: string) => void) =>
    LOG_LEVELS.indexOf(name) < threshold ? dropEvent : (event: Record<string, unknown>) => print(JSON.stringify({ level: name, time: new Date().toISOString(), ...event }));
  return {
    debug: printer("debug", (line) => console.debug(line)),
    info: printer("info", (line) => console.log(line)),
    warn: printer("warn", (line) => console.warn(line)),
    error: printer("error", (line) => console.error(line)),
  };
};

function kindOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  return typeof value === "object" ? "an object" : typeof value;
}

/**
 * A config var as the text loadConfig parses. wrangler passes vars written as JSON as their values (`VERDICT_N = 2` a
 * number, `VERDICT_API_KEYS = ["k1"]` an array): numbers and booleans are written out, a list of strings is joined as
 * the parser splits it. Anything else is refused rather than skipped: a skipped VERDICT_API_KEYS would turn auth off.
 * The problem names the var and the kind of value, never the value (it may be a key).
 */
function varText(name: (typeof CONFIG_VARS)[number], value: unknown): { text: string } | { problem: string } {
  if (typeof value === "string") return { text: value };
  if (typeof value === "number" || typeof value === "boolean") return { text: String(value) };
  const separator = LIST_SEPARATORS[name];
  if (separator === undefined) return { problem: `${name}: must be text, a number or a boolean, not ${kindOf(value)}` };
  const items: unknown[] = Array.isArray(value) ? value : [];
  // Empty items are dropped by the parser and an item holding the separator would be split: neither is what was meant.
  if (items.length > 0 && items.every((item) => typeof item === "string" && item.trim() !== "" && !item.includes(separator))) {
    return { text: items.join(separator) };
  }
  const wanted = `text, or a non-empty list of non-empty strings without "${separator}"`;
  return { problem: `${name}: must be ${wanted}, not ${Array.isArray(value) ? "this list" : kindOf(value)}` };
}

const REDIS_ON_WORKERS = 'cache.backend: "redis" needs a TCP client and runs on Node only; on Workers bind a KV namespace as VERDICT_KV';

/** Whether the config text's cache asks for Redis, read on its own so that the refusal comes with every other problem. */
function asksForRedis(fileText: unknown): boolean {
  if (typeof fileText !== "string") return false;
  try {
    return (JSON.parse(fileText) as { cache?: { backend?: unknown } } | null)?.cache?.backend === "redis";
  } catch {
    return false; // not JSON: loadConfig says so
  }
}

function configOf(env: WorkerEnv): Config {
  // Only the config vars are read: bindings (KV, services) are objects, and are not config.
  const vars: Record<string, string> = {};
  const problems: string[] = [];
  for (const name of CONFIG_VARS) {
    if (env[name] === undefined) continue;
    const text = varText(name, env[name]);
    if ("problem" in text) problems.push(text.problem);
    else vars[name] = text.text;
  }
  const raw = env.VERDICT_CONFIG_JSON;
  const fileText = typeof raw === "object" && raw !== null ? JSON.stringify(raw) : raw;
  // Said with the other problems, not only once they are fixed.
  if (asksForRedis(fileText)) problems.push(REDIS_ON_WORKERS);
  let config: Config;
  try {
    config = loadConfig(vars, fileText, "VERDICT_CONFIG_JSON");
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    throw new ConfigError([...problems, ...err.problems]); // every problem in one answer
  }
  if (config.cache.backend === "redis" && !problems.includes(REDIS_ON_WORKERS)) problems.push(REDIS_ON_WORKERS);
  if (problems.length > 0) throw new ConfigError(problems);
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

function build(env: WorkerEnv, loggerFor: LoggerForLevel): Built {
  let config: Config;
  try {
    config = configOf(env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    loggerFor("info").error({ event: "invalid_config", problems: err.problems });
    const message = `invalid verdict configuration: ${err.problems.join("; ")}`;
    return { error: new ProxyError(500, message, { type: "server_error", code: "invalid_config" }) };
  }
  try {
    return buildApp(config, env, loggerFor);
  } catch (err) {
    // A config the schema let through that still cannot be built: an OpenAI-shaped 500 with the request id, as for an
    // invalid one, rather than the runtime's exception page on every request. Its message stays in the log.
    loggerFor("info").error({ event: "startup_failed", error: String(err) });
    return { error: new ProxyError(500, "verdict could not start with this configuration (see the log)", { type: "server_error", code: "startup_failed" }) };
  }
}

function buildApp(config: Config, env: WorkerEnv, loggerFor: LoggerForLevel): Built {
  const logger = loggerFor(config.log.level);
  const memory = createMemoryCache(config.cache);
  const cache = env.VERDICT_KV
    ? createLayeredCache({
        front: memory,
        back: createKvCache(env.VERDICT_KV, { ttl_ms: config.cache.ttl_ms, timeout_ms: config.cache.kv_timeout_ms }),
        name: "kv",
        ttlMs: config.cache.ttl_ms,
        // KV writes are slow and only eventually visible elsewhere: they run after the response, under waitUntil.
        writeBehind: true,
        isDroppedWrite: isKvKeyRateLimit,
        warn: (event) => logger.warn(event),
        info: (event) => logger.info(event),
        debug: (event) => logger.debug?.(event),
      })
    : null;
  // Judgments in flight are not shared between requests: a promise another request's I/O settles must not be awaited.
  const deps = { config, cache: cache ?? memory, logger, shareJudgmentsInFlight: false };
  const context = createAppContext(deps);
  const app = createApp(deps, context);
  const { tracer } = context.observe;
  return {
    fetch: async (request, env, ctx) => app.fetch(request, env, ctx),
    afterWork: async () => {
      await cache?.settle();
      // The spans' timer (tracing.flush_ms) may never fire on Workers: the isolate can be frozen once waitUntil is done.
      await tracer.flush().catch((err: unknown) => logger.warn({ event: "trace_flush_failed", error: String(err) }));
    },
  };
}

/** Resolves once every promise in `promises` has settled, including those added while waiting. */
async function allSettled(promises: Promise<unknown>[]): Promise<void> {
  for (let seen = 0; seen < promises.length; ) {
    const batch = promises.slice(seen);
    seen = promises.length;
    await Promise.allSettled(batch);
  }
}

/** A worker with its own per-isolate state; the default export is one, tests make fresh ones. */
export function createWorker(logger: Logger | LoggerForLevel = consoleLoggerAt) {
  const loggerFor: LoggerForLevel = typeof logger === "function" ? logger : () => logger;
  let built: Built | undefined;
  return {
    async fetch(request: Request, env: WorkerEnv, ctx: WaitUntil): Promise<Response> {
      // Once per isolate: vars and secrets cannot change without a new deployment, which starts new isolates.
      built ??= build(env, loggerFor);
      // The id is echoed on this error too, as on every other (the app, which would set it, never ran).
      if ("error" in built) return errorResponse(built.error, { "x-request-id": requestIdFor(request.headers.get("x-request-id")) });
      const running = built;
      // A reranked stream's work (judging, so its KV writes and its spans) goes on after the headers are out; the app
      // hands the promise of its end to waitUntil. Those hand-offs are watched, so that the KV writes and the span
      // export are awaited after that end, not after the headers.
      const handedOver: Promise<unknown>[] = [];
      const watched: ExecutionContextForHono = {
        waitUntil: (promise) => {
          handedOver.push(promise);
          ctx.waitUntil(promise);
        },
        passThroughOnException: () => ctx.passThroughOnException?.(),
        props: ctx.props,
      };
      try {
        return await running.fetch(request, env, watched);
      } finally {
        ctx.waitUntil(allSettled(handedOver).then(running.afterWork));
      }
    },
  };
}
