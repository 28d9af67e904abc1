// The whole configuration as one zod schema; loadConfig(env, fileText) is the only reader of raw settings.
import { z } from "zod";
import { leastJudgeCalls, strategyFields, strategyNames } from "../strategies/index";
import { observabilityFields, TIMER_MAX_MS, TIMER_TOO_LONG } from "./observe/config";
import { SENSITIVE_HEADER } from "./redact";
import { headerSecret, serviceUrl } from "./util/config-fields";

const upstreamFields = {
  base_url: serviceUrl("api_key"),
  api_key: headerSecret().optional(),
  /** Per attempt. */
  timeout_ms: z.number().int().positive().max(TIMER_MAX_MS, TIMER_TOO_LONG).default(60_000),
  max_retries: z.number().int().min(0).max(10).default(2),
  concurrency: z.number().int().positive().default(64),
  /** Calls allowed to wait for a slot; beyond this new requests get 429 instead of growing memory. */
  max_queued: z.number().int().min(0).default(2_000),
  /** Optional rate limit: at most interval_cap calls started per interval_ms. */
  interval_ms: z.number().int().positive().max(TIMER_MAX_MS, TIMER_TOO_LONG).optional(),
  interval_cap: z.number().int().positive().optional(),
};

const generatorSchema = z.strictObject({
  ...upstreamFields,
  /** Forces this upstream model for every call; unset, the client's (or virtual model's) model is used. */
  model: z.string().min(1).optional(),
  /** "auto": try `n`, fall back to parallel calls (and remember) when the upstream refuses it. */
  supports_n: z.union([z.boolean(), z.literal("auto")], { error: 'must be true, false or "auto"' }).default("auto"),
  /** Draw the `n` call as a stream: candidates that finish early are judged while their siblings are still written. */
  stream_sampling: z.boolean().default(false),
  /** Where candidates write reasoning into their content (src/openai/chat.ts, withoutInlineReasoning). */
  inline_reasoning: z.enum(["leading_block", "opened_by_template", "off"]).default("leading_block"),
});

/** A Root Signals evaluator, by id or by name. */
const evaluatorRef = z.union([z.strictObject({ id: z.string().min(1) }), z.strictObject({ name: z.string().min(1) })]);

const judgeSchema = z.strictObject({
  ...upstreamFields,
  /** "openai-compatible": any chat-completions server (SGLang, vLLM, OpenAI); "root-signals": the evaluator API. */
  backend: z.enum(["openai-compatible", "root-signals"]).default("openai-compatible"),
  /** Unset: the generator's (openai-compatible) or Root Signals' public API (root-signals). */
  base_url: upstreamFields.base_url.optional(),
  /** Required for the openai-compatible backend. */
  model: z.string().min(1).optional(),
  /** root-signals: the evaluator per task; `default` serves any task without its own. */
  evaluators: z
    .strictObject({ default: evaluatorRef.optional(), pairwise: evaluatorRef.optional(), rubric: evaluatorRef.optional(), guard: evaluatorRef.optional() })
    .default({}),
  /** root-signals guard: an evaluator score at or above this passes. */
  pass_threshold: z.number().min(0).max(1).default(0.5),
  temperature: z.number().min(0).max(2).default(0),
  max_tokens: z.number().int().positive().default(1024),
  /** Ask for JSON through response_format json_schema; off for servers without guided decoding. */
  structured_output: z.boolean().default(true),
  /** Ask for token logprobs and read p(A beats B) at the verdict token (a soft score for ties and ranking). */
  logprobs: z.boolean().default(false),
  /** Sampling temperature for a rematch of a split verdict (a second look must be able to differ from the first). */
  rematch_temperature: z.number().min(0).max(2).default(0.7),
  /** Replaces the system text of the groundedness check (TASK / INSTRUCTIONS / OUTPUT_EXAMPLE). */
  grounding_prompt: z.string().min(1).optional(),
  on_error: z.enum(["fail_open", "fail_closed"]).default("fail_open"),
});

/** Request-level options: every field optional so sources can be merged field by field. */
const commonOptionFields = {
  n: z.number().int(),
  strategy: z.enum(strategyNames),
  min_candidates: z.number().int().min(1),
  cache: z.boolean(),
  return_candidates: z.boolean(),
  /** Every candidate and judgment in the response, for debugging; refused unless limits.allow_trace. */
  trace: z.boolean(),
};

const optionsSchema = z.strictObject(commonOptionFields).partial().extend(strategyFields);

const defaultsSchema = optionsSchema.extend({
  n: z.number().int().min(1).default(4),
  strategy: commonOptionFields.strategy.default("pairwise"),
  min_candidates: z.number().int().min(1).default(1),
});

const virtualModelSchema = optionsSchema.extend({ model: z.string().min(1) });

/** The in-memory LRU is always there; "redis" (Node) puts a shared layer behind it. Workers use KV when bound. */
const memoryCacheFields = {
  // lru-cache sets aside room for every entry up front (about 50 bytes each): a bound keeps that within any isolate.
  max_entries: z.number().int().positive().max(1_000_000).default(10_000),
  max_bytes: z.number().int().positive().default(64 * 1024 * 1024),
  // Bounded like every *_ms setting; far past it a KV write refuses the expiry and the cache silently stops sharing.
  ttl_ms: z.number().int().positive().max(TIMER_MAX_MS, `must be at most ${TIMER_MAX_MS} ms (about 24.8 days)`).default(24 * 3600 * 1000),
  /** Workers with a KV binding: per KV read or write, after which memory-only takes over (as redis_timeout_ms). */
  kv_timeout_ms: z.number().int().positive().max(TIMER_MAX_MS, TIMER_TOO_LONG).default(1_000),
};

/** A URL, or null for one that zod's own check has already refused ("redis://host:99999/0"). */
function urlOrNull(text: string): URL | null {
  try {
    return new URL(text);
  } catch {
    return null;
  }
}

/** Whether a URL's percent-encoded part can be decoded ("p%40ss" can, "ab%zz" cannot). */
function decodable(part: string): boolean {
  try {
    decodeURIComponent(part);
    return true;
  } catch {
    return false;
  }
}

const cacheSchema = z.discriminatedUnion("backend", [
  z.strictObject({ backend: z.literal("memory").default("memory"), ...memoryCacheFields }),
  z.strictObject({
    backend: z.literal("redis"),
    ...memoryCacheFields,
    redis_url: z
      .url({ protocol: /^rediss?$/ })
      // A user or password is percent-encoded in a URL; a lone % (not followed by two hex digits) cannot be read back.
      .refine((url) => {
        const parsed = urlOrNull(url);
        return parsed === null || (decodable(parsed.username) && decodable(parsed.password));
      }, "a % in the user or password must be written %25")
      // ioredis would send SELECT NaN for "/db0" and die of the failure, uncaught, once Redis answers.
      .refine((url) => /^\/?(?:\d+)?$/.test(urlOrNull(url)?.pathname ?? ""), "the database after the host must be a number, as in redis://host:6379/0")
      // ioredis reads ?db= too, past the check above, and verdict's own check of the database reads the path.
      .refine((url) => !urlOrNull(url)?.searchParams.has("db"), "name the database in the path (redis://host:6379/2), not in ?db="),
    /** Per Redis command: a slow or stuck Redis costs a judgment at most this long before memory-only takes over. */
    redis_timeout_ms: z.number().int().positive().max(TIMER_MAX_MS, TIMER_TOO_LONG).default(500),
    redis_prefix: z.string().default("verdict:judgment:"),
  }),
], { error: 'must be "memory" or "redis"' });

export const configSchema = z.strictObject({
  server: z
    .strictObject({
      // "" would make Node listen on every interface: an address has to be named, as 0.0.0.0 names them all.
      host: z.string().regex(/\S/, 'must name an address ("0.0.0.0" for every interface)').default("127.0.0.1"),
      port: z.number().int().min(0).max(65535).default(8787),
      body_limit_bytes: z.number().int().positive().default(4 * 1024 * 1024),
      /**
       * Node: request bodies held at once, from their headers until their answer is out; past it a request is refused
       * with 503 before its body is read (src/adapters/node-admission.ts says why).
       */
      max_inflight_body_bytes: z.number().int().positive().default(32 * 1024 * 1024),
      /** SSE comment interval while a streamed reranked answer is being prepared; well under common 30-60 s idle cut-offs. */
      keepalive_ms: z.number().int().min(10).max(TIMER_MAX_MS, TIMER_TOO_LONG).default(5_000),
    })
    .prefault({}),
  generator: generatorSchema,
  judge: judgeSchema,
  defaults: defaultsSchema.prefault({}),
  limits: z
    .strictObject({
      max_n: z.number().int().min(1).max(128).default(16),
      /** Messages per request; OpenAI's own API refuses more than 2048. */
      max_messages: z.number().int().positive().default(2048),
      /** Characters of message text per request (content strings and text parts), checked before anything goes upstream. */
      max_chars: z.number().int().positive().default(1_000_000),
      /**
       * Characters of one candidate's text: a longer one is lost (reported), not held and sent to the judge. A million
       * is far past any judge's context, and bounds what n candidates of one request hold.
       */
      max_candidate_chars: z.number().int().positive().default(1_000_000),
      /** Off by default: a trace shows the judge's reasoning, which may quote an operator's rubric or guard prompt. */
      allow_trace: z.boolean().default(false),
      /** Generator and judge calls one request may have in flight; unset on Node, 6 (Workers' limit) on Workers. */
      max_inflight_per_request: z.number().int().min(1).optional(),
    })
    .prefault({}),
  models: z.record(z.string().min(1), virtualModelSchema).default({}),
  cache: cacheSchema.prefault({}),
  /** One budget per client request, queueing, retries and judging included (see src/budget.ts). */
  timeouts: z.strictObject({ request_ms: z.number().int().positive().max(TIMER_MAX_MS, TIMER_TOO_LONG).default(120_000) }).prefault({}),
  /** Backoff for upstream retries (count per upstream: max_retries); see src/retry.ts for why verdict owns retries. */
  retry: z
    .strictObject({
      base_delay_ms: z.number().int().min(0).max(TIMER_MAX_MS, TIMER_TOO_LONG).default(250),
      max_delay_ms: z.number().int().min(0).max(TIMER_MAX_MS, TIMER_TOO_LONG).default(8_000),
      /** A retry-after longer than this is not waited for: the upstream's 429/503 goes to the client with its retry-after. */
      max_retry_after_ms: z.number().int().min(0).max(TIMER_MAX_MS, TIMER_TOO_LONG).default(20_000),
    })
    .prefault({}),
  auth: z
    .strictObject({
      /** Proxy keys: when any is set, /v1/* needs `Authorization: Bearer <one of them>`. */
      keys: z
        .array(
          z
            .string()
            .min(8, "proxy keys must be at least 8 characters")
            .regex(/^[\x21-\x7e]+$/, "proxy keys must be printable ASCII without spaces (clients send other characters in different encodings, so such a key could never match)"),
        )
        .default([]),
      /** Bring-your-own-key: the client's bearer token goes upstream to the generator instead of generator.api_key. */
      forward_client_key: z.boolean().default(false),
    })
    .prefault({}),
  ...observabilityFields,
});

export type Config = z.infer<typeof configSchema>;
export type VerdictOptionsInput = z.infer<typeof optionsSchema>;
export { optionsSchema as verdictOptionsSchema };

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid verdict configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

type Env = Record<string, string | undefined>;

/** Env variables that override one config field each: name -> [path, parse]. */
const ENV_OVERRIDES: Record<string, [string[], (raw: string) => unknown]> = {
  GENERATOR_BASE_URL: [["generator", "base_url"], String],
  GENERATOR_API_KEY: [["generator", "api_key"], String],
  GENERATOR_MODEL: [["generator", "model"], String],
  JUDGE_BASE_URL: [["judge", "base_url"], String],
  JUDGE_API_KEY: [["judge", "api_key"], String],
  JUDGE_MODEL: [["judge", "model"], String],
  JUDGE_BACKEND: [["judge", "backend"], String],
  PORT: [["server", "port"], numberOrText],
  VERDICT_N: [["defaults", "n"], numberOrText],
  VERDICT_API_KEYS: [["auth", "keys"], (raw) => raw.split(",").map((k) => k.trim()).filter((k) => k !== "")],
  LOG_LEVEL: [["log", "level"], String],
  METRICS_TOKEN: [["metrics", "token"], String],
  OTEL_EXPORTER_OTLP_ENDPOINT: [["tracing", "otlp_endpoint"], String],
};

function numberOrText(raw: string): unknown {
  return /^\s*-?\d+(\.\d+)?\s*$/.test(raw) ? Number(raw) : raw;
}

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    node = typeof next === "object" && next !== null ? (next as Record<string, unknown>) : (node[key] = {});
  }
  node[path[path.length - 1]!] = value;
}

/**
 * Where the config names something "__proto__" (a virtual model, a collector header): JSON.parse keeps such a key, but
 * the checked config would drop it silently and the model would not exist.
 */
function protoKeys(value: unknown, path: string[]): string[] {
  if (typeof value !== "object" || value === null) return [];
  const found: string[] = [];
  for (const key of Object.keys(value)) {
    if (key === "__proto__") found.push([...path, key].join("."));
    else found.push(...protoKeys((value as Record<string, unknown>)[key], [...path, key]));
  }
  return found;
}

/** Parses config from a JSON file's text (or nothing) plus env overrides; throws ConfigError naming each bad field. */
export function loadConfig(env: Env, fileText?: string, fileName = "config file"): Config {
  let raw: Record<string, unknown> = {};
  if (fileText !== undefined) {
    try {
      const parsed: unknown = JSON.parse(fileText);
      if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
        throw new ConfigError([`${fileName}: must hold a JSON object`]);
      }
      raw = parsed as Record<string, unknown>;
    } catch (err) {
      if (err instanceof ConfigError) throw err;
      // Only where: the parser's own message quotes the text around the fault, which may be a key (and on Workers
      // this message is every request's answer until the config is mended).
      const at = /position (\d+)/.exec((err as Error).message)?.[1];
      throw new ConfigError([`${fileName}: not valid JSON${at !== undefined ? ` (the fault is at character ${at})` : ""}`]);
    }
  }
  // Which fields the environment set, so that a problem with one names the variable to mend as well.
  const fromEnv = new Map<string, string>();
  for (const [name, [path, parse]] of Object.entries(ENV_OVERRIDES)) {
    const value = env[name];
    if (value === undefined || value === "") continue;
    setPath(raw, path, parse(value));
    fromEnv.set(path.join("."), name);
  }
  // The Root Signals key is that backend's own: it must not replace the key of an OpenAI-compatible judge.
  if (env.ROOT_SIGNALS_API_KEY && (raw.judge as { backend?: unknown } | undefined)?.backend === "root-signals") {
    setPath(raw, ["judge", "api_key"], env.ROOT_SIGNALS_API_KEY);
  }
  const problems: string[] = [];
  for (const path of protoKeys(raw, [])) problems.push(`${path}: "__proto__" cannot name anything here (it would be dropped without a word)`);
  // A value with no key in it (",", " ") would replace the file's keys with none and leave the proxy open.
  if (env.VERDICT_API_KEYS && (raw.auth as { keys?: unknown[] } | undefined)?.keys?.length === 0) {
    problems.push("VERDICT_API_KEYS: set but holds no key; unset it to keep the config file's keys, or give at least one");
  }
  const result = configSchema.safeParse(raw);
  const judge = (raw.judge ?? {}) as { backend?: unknown; model?: unknown; api_key?: unknown; evaluators?: Record<string, unknown> };
  const field = (path: PropertyKey[]) => {
    const name = path.join(".");
    const variable = [...fromEnv].find(([set]) => name === set || name.startsWith(`${set}.`))?.[1];
    return `${name || "(root)"}${variable ? ` (from ${variable})` : ""}`;
  };
  if (!result.success) problems.push(...result.error.issues.map((i) => `${field(i.path)}: ${i.message}`));
  // Checks across fields, made on the raw input too so that every problem is reported in one go.
  if (judge.backend === "root-signals") {
    const evaluators = judge.evaluators ?? {};
    if (!evaluators.default && ["pairwise", "rubric", "guard"].some((t) => !evaluators[t])) {
      problems.push("judge.evaluators: the root-signals backend needs an evaluator for each task, or a `default` one");
    }
    if (!judge.api_key) problems.push("judge.api_key: the root-signals backend needs an API key (or set ROOT_SIGNALS_API_KEY)");
  } else if (judge.model === undefined) {
    problems.push("judge.model: required for the openai-compatible judge backend (or set JUDGE_MODEL)");
  }
  for (const role of ["generator", "judge"] as const) {
    const upstream = (raw[role] ?? {}) as { interval_ms?: unknown; interval_cap?: unknown };
    if ((upstream.interval_ms === undefined) !== (upstream.interval_cap === undefined)) {
      problems.push(`${role}.interval_ms, ${role}.interval_cap: a rate limit needs both (interval_cap calls per interval_ms)`);
    }
  }
  if (result.success) {
    // A stuck cache must give way to the memory cache while the request can still be answered: with a longer wait the
    // request's budget runs out first, and the answer blames the judge (degraded: judge_unavailable) for the cache.
    // (Workers' kv_timeout_ms is not checked here: only the Worker knows whether it has a KV binding.)
    const { cache, timeouts } = result.data;
    if (cache.backend === "redis" && cache.redis_timeout_ms * 2 > timeouts.request_ms) {
      problems.push(`cache.redis_timeout_ms: ${cache.redis_timeout_ms} ms is more than half of timeouts.request_ms (${timeouts.request_ms}): a stuck Redis would spend the request's budget before memory-only took over`);
    }
    // A bound below the largest body would refuse such a body whenever anything else is held: on a busy server, always.
    const { server } = result.data;
    if (server.max_inflight_body_bytes < server.body_limit_bytes) {
      problems.push(`server.max_inflight_body_bytes: ${server.max_inflight_body_bytes} is below server.body_limit_bytes (${server.body_limit_bytes}): a body that large would be refused whenever another request is held`);
    }
    const defaults = result.data.defaults;
    const { n, min_candidates } = defaults;
    if (n > result.data.limits.max_n) problems.push(`defaults.n: ${n} is above limits.max_n (${result.data.limits.max_n})`);
    if (min_candidates > n) problems.push(`defaults.min_candidates: ${min_candidates} is above defaults.n (${n})`);
    /** A cap on judge calls too low for the tournament it would bound: every request under it would be refused. */
    const capTooLow = (where: string, settings: { n?: number; strategy?: string; inner?: string; tournament?: string; max_judge_calls?: number }, field: string) => {
      const cap = settings.max_judge_calls ?? defaults.max_judge_calls;
      const strategy = settings.strategy ?? defaults.strategy;
      // A guard's tournament is its inner strategy's, when that is pairwise (the default).
      const inner = settings.inner ?? defaults.inner ?? "pairwise";
      if (cap === undefined || (strategy !== "pairwise" && !(strategy === "guard" && inner === "pairwise"))) return;
      const needed = leastJudgeCalls(settings.n ?? n, settings.tournament ?? defaults.tournament);
      if (cap < needed) problems.push(`${field}: ${cap} judge calls cannot play the tournament of ${settings.n ?? n} candidates ${where}, which needs ${needed}`);
    };
    capTooLow("of defaults.n", defaults, "defaults.max_judge_calls");
    // A trace the limits refuse: every request would be refused, naming a verdict.trace its client never sent.
    const traceRefused = (field: string) => problems.push(`${field}: true needs limits.allow_trace: true (a trace shows the judge's reasoning)`);
    if (defaults.trace === true && !result.data.limits.allow_trace) traceRefused("defaults.trace");
    // A virtual model's own settings, checked here as a request's are: wrong, every request to it would be refused,
    // naming verdict.* fields its clients never sent.
    for (const [name, model] of Object.entries(result.data.models)) {
      const modelN = model.n ?? n;
      if (model.n !== undefined && (model.n < 1 || model.n > result.data.limits.max_n)) {
        problems.push(`models.${name}.n: ${model.n} is not between 1 and limits.max_n (${result.data.limits.max_n})`);
      }
      if (model.min_candidates !== undefined && model.min_candidates > modelN) {
        problems.push(`models.${name}.min_candidates: ${model.min_candidates} is above its n (${modelN})`);
      }
      if (model.trace === true && !result.data.limits.allow_trace) traceRefused(`models.${name}.trace`);
      capTooLow(`of models.${name}`, model, model.max_judge_calls !== undefined ? `models.${name}.max_judge_calls` : `defaults.max_judge_calls (for models.${name})`);
    }
  }
  if (problems.length > 0 || !result.success) throw new ConfigError(problems);
  return result.data;
}

export const ROOT_SIGNALS_BASE_URL = "https://api.app.rootsignals.ai";

/**
 * The judge's base URL and key. An OpenAI-compatible judge without a key of its own uses the generator's when it is
 * served from the generator's URL (no judge URL, or the same one): never sent to another host.
 */
/**
 * Every secret the config holds; none may reach a response, an error message, a log line or a span (src/redact.ts).
 * Of the collector's headers, those that carry credentials (a dataset or tenant name is no secret, and hunting it would
 * rewrite every answer that says it), each whole and as its bare credential ("Bearer <token>").
 */
export function secretsOf(config: Config): string[] {
  const headerValues = Object.entries(config.tracing.headers)
    .filter(([name]) => SENSITIVE_HEADER.test(name))
    .flatMap(([, value]) => [value, value.replace(/^\S+\s+/, "")]);
  return [config.generator.api_key, config.judge.api_key, ...config.auth.keys, config.metrics.token, ...headerValues]
    .filter((secret): secret is string => secret !== undefined);
}

export function judgeEndpoint(config: Config): { base_url: string; api_key: string | undefined } {
  const fallback = config.judge.backend === "root-signals" ? ROOT_SIGNALS_BASE_URL : config.generator.base_url;
  const base_url = config.judge.base_url ?? fallback;
  const sameUrl = base_url.replace(/\/+$/, "") === config.generator.base_url.replace(/\/+$/, "");
  return {
    base_url,
    api_key: config.judge.api_key ?? (config.judge.backend === "openai-compatible" && sameUrl ? config.generator.api_key : undefined),
  };
}
