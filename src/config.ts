// The whole configuration as one zod schema; loadConfig(env, fileText) is the only reader of raw settings.
import { z } from "zod";
import { strategyFields, strategyNames } from "../strategies/index";

const upstreamFields = {
  base_url: z.url({ protocol: /^https?$/ }),
  api_key: z.string().min(1).optional(),
  /** Per attempt. */
  timeout_ms: z.number().int().positive().default(60_000),
  max_retries: z.number().int().min(0).max(10).default(2),
  concurrency: z.number().int().positive().default(64),
  /** Calls allowed to wait for a slot; beyond this new requests get 429 instead of growing memory. */
  max_queued: z.number().int().min(0).default(2_000),
  /** Optional rate limit: at most interval_cap calls started per interval_ms. */
  interval_ms: z.number().int().positive().optional(),
  interval_cap: z.number().int().positive().optional(),
};

const generatorSchema = z.strictObject({
  ...upstreamFields,
  /** Forces this upstream model for every call; unset, the client's (or virtual model's) model is used. */
  model: z.string().min(1).optional(),
  /** "auto": try `n`, fall back to parallel calls (and remember) when the upstream refuses it. */
  supports_n: z.union([z.boolean(), z.literal("auto")]).default("auto"),
});

const judgeSchema = z.strictObject({
  ...upstreamFields,
  /** Unset: the generator's. */
  base_url: upstreamFields.base_url.optional(),
  model: z.string().min(1),
  temperature: z.number().min(0).max(2).default(0),
  max_tokens: z.number().int().positive().default(1024),
  /** Ask for JSON through response_format json_schema; off for servers without guided decoding. */
  structured_output: z.boolean().default(true),
  /** Ask for token logprobs and read p(A beats B) at the verdict token (a soft score for ties and ranking). */
  logprobs: z.boolean().default(false),
  /** Sampling temperature for a rematch of a split verdict (a second look must be able to differ from the first). */
  rematch_temperature: z.number().min(0).max(2).default(0.7),
  on_error: z.enum(["fail_open", "fail_closed"]).default("fail_open"),
});

/** Request-level options: every field optional so sources can be merged field by field. */
const commonOptionFields = {
  n: z.number().int(),
  strategy: z.enum(strategyNames),
  min_candidates: z.number().int().min(1),
  cache: z.boolean(),
  return_candidates: z.boolean(),
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
  max_entries: z.number().int().positive().default(10_000),
  max_bytes: z.number().int().positive().default(64 * 1024 * 1024),
  ttl_ms: z.number().int().positive().default(24 * 3600 * 1000),
};

const cacheSchema = z.discriminatedUnion("backend", [
  z.strictObject({ backend: z.literal("memory").default("memory"), ...memoryCacheFields }),
  z.strictObject({
    backend: z.literal("redis"),
    ...memoryCacheFields,
    redis_url: z.url({ protocol: /^rediss?$/ }),
    /** Per Redis command: a slow or stuck Redis costs a judgment at most this long before memory-only takes over. */
    redis_timeout_ms: z.number().int().positive().default(500),
    redis_prefix: z.string().default("verdict:judgment:"),
  }),
]);

export const configSchema = z.strictObject({
  server: z
    .strictObject({
      host: z.string().default("127.0.0.1"),
      port: z.number().int().min(0).max(65535).default(8787),
      body_limit_bytes: z.number().int().positive().default(4 * 1024 * 1024),
    })
    .prefault({}),
  generator: generatorSchema,
  judge: judgeSchema,
  defaults: defaultsSchema.prefault({}),
  limits: z
    .strictObject({
      max_n: z.number().int().min(1).max(128).default(16),
      /** Generator and judge calls one request may have in flight; unset on Node, 6 (Workers' limit) on Workers. */
      max_inflight_per_request: z.number().int().min(1).optional(),
    })
    .prefault({}),
  models: z.record(z.string().min(1), virtualModelSchema).default({}),
  cache: cacheSchema.prefault({}),
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
  PORT: [["server", "port"], numberOrText],
  VERDICT_N: [["defaults", "n"], numberOrText],
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
      throw new ConfigError([`${fileName}: not valid JSON (${(err as Error).message})`]);
    }
  }
  for (const [name, [path, parse]] of Object.entries(ENV_OVERRIDES)) {
    const value = env[name];
    if (value !== undefined && value !== "") setPath(raw, path, parse(value));
  }
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    throw new ConfigError(result.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`));
  }
  const config = result.data;
  const { n, min_candidates } = config.defaults;
  if (n > config.limits.max_n) throw new ConfigError([`defaults.n: ${n} is above limits.max_n (${config.limits.max_n})`]);
  if (min_candidates > n) throw new ConfigError([`defaults.min_candidates: ${min_candidates} is above defaults.n (${n})`]);
  return config;
}

/** The judge's base URL and key, inheriting the generator's when the judge names none. */
export function judgeEndpoint(config: Config): { base_url: string; api_key: string | undefined } {
  return {
    base_url: config.judge.base_url ?? config.generator.base_url,
    api_key: config.judge.api_key ?? (config.judge.base_url ? undefined : config.generator.api_key),
  };
}
