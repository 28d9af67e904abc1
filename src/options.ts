// Resolves a request's verdict options, field by field, first match wins: body `verdict`, x-verdict-* headers,
// virtual model, config defaults. Every refusal names the parameter the client (or operator) must fix.
import type { z } from "zod";
import { documentsFromMessages, normaliseContext } from "../strategies/guard-context";
import { checkContextLimit } from "./limits";
import { fieldsOf, leastJudgeCalls, strategyFields, strategyNames, strategyOptions, type StrategyOptions } from "../strategies/index";
import { verdictOptionsSchema, type Config, type VerdictOptionsInput } from "./config";
import type { HeaderSource } from "./auth";
import { badRequest, paramOf } from "./errors";
import type { ChatRequest } from "./openai/chat";
import { withFields } from "./util/with-fields";

export interface ResolvedOptions {
  /** The model every generator call uses. */
  upstreamModel: string;
  /** Candidates to draw (at least the client's own `n`). */
  n: number;
  /** How many ranked choices the client asked for (OpenAI's `n`). */
  choices: number;
  min_candidates: number;
  cache: boolean;
  return_candidates: boolean;
  /** Return every candidate and judgment (verdict.trace); only where limits.allow_trace permits. */
  trace: boolean;
  strategy: StrategyOptions;
  /** For a strategy that wraps another (guard): the inner strategy's options, from the same sources. */
  inner?: StrategyOptions;
  passThrough: boolean;
}

type Field = keyof VerdictOptionsInput;

interface Source {
  values: VerdictOptionsInput;
  /** How to name a field of this source in an error. */
  param: (field: string) => string;
}

function firstIssueParam(error: z.ZodError, prefix: string): { param: string; message: string } {
  const issue = error.issues[0]!;
  const keys = issue.code === "unrecognized_keys" ? issue.keys : [];
  const path = paramOf([...issue.path, ...keys.slice(0, 1)]);
  // A few names say what is wrong; a body of thousands would come back whole in the error.
  const named = keys.length > 5 ? `${keys.slice(0, 5).join(", ")} and ${keys.length - 5} more` : keys.join(", ");
  const message = issue.code === "unrecognized_keys" ? `unknown option ${named}` : issue.message;
  return { param: path ? `${prefix}.${path}` : prefix, message };
}

function bodySource(verdict: unknown): Source {
  if (verdict === undefined) return { values: {}, param: (f) => `verdict.${f}` };
  const parsed = verdictOptionsSchema.safeParse(verdict);
  if (!parsed.success) {
    const { param, message } = firstIssueParam(parsed.error, "verdict");
    throw badRequest(`invalid ${param}: ${message}`, param);
  }
  return { values: parsed.data, param: (f) => `verdict.${f}` };
}

const HEADER_FIELDS: Record<string, Field> = { "x-verdict-n": "n", "x-verdict-strategy": "strategy" };
const STRATEGY_NAMES: readonly string[] = strategyNames;
/** A header-set field named as its header. */
const headerParam = (field: string) => Object.keys(HEADER_FIELDS).find((header) => HEADER_FIELDS[header] === field) ?? field;

/**
 * The options headers can carry: only those two, checked by hand as the body's schema would (a whole number, a known
 * strategy). A schema parse of them was about 0.4% of a pass-through's CPU, on every request.
 */
function headerSource(headers: HeaderSource): Source {
  const values: VerdictOptionsInput = {};
  const n = headers.get("x-verdict-n");
  if (n !== null) {
    if (!/^\s*\d+\s*$/.test(n)) throw badRequest("x-verdict-n must be a whole number", "x-verdict-n");
    values.n = Number(n);
  }
  const strategy = headers.get("x-verdict-strategy")?.trim();
  if (strategy !== undefined) {
    if (!STRATEGY_NAMES.includes(strategy)) {
      throw badRequest(`invalid x-verdict-strategy: expected one of ${STRATEGY_NAMES.map((name) => `"${name}"`).join(", ")}`, "x-verdict-strategy");
    }
    values.strategy = strategy as VerdictOptionsInput["strategy"];
  }
  return { values, param: headerParam };
}

/**
 * The first source that gives `field` a value: the body, then headers, the virtual model, the defaults. A plain loop:
 * `find` with a closure per field was 1.5% of a pass-through's CPU (about twenty fields per request).
 */
function sourceOf(sources: Source[], field: Field): Source | undefined {
  for (const source of sources) if (source.values[field] !== undefined) return source;
  return undefined;
}

/** The value of `field`, without naming where it came from (pick does that, which only error messages need). */
function valueOf(sources: Source[], field: Field): unknown {
  return sourceOf(sources, field)?.values[field];
}

/** Every strategy field, for the strategy's own schema to check together. */
const STRATEGY_FIELDS = Object.keys(strategyFields) as Field[];

/** Whether the request itself (its body or headers, the first two sources) set `field`, not the deployment. */
function setByRequest(sources: Source[], field: Field): boolean {
  return sources[0]!.values[field] !== undefined || sources[1]!.values[field] !== undefined;
}

function pick(sources: Source[], field: Field): { value: unknown; param: string } {
  const source = sourceOf(sources, field);
  return source ? { value: source.values[field], param: source.param(field) } : { value: undefined, param: `verdict.${field}` };
}

/**
 * An option the request sets for a strategy it does not run would be ignored without a word (a cap on judge calls
 * among them), so it is refused, named. Only the request's own: a deployment's defaults and virtual models may well
 * hold options for strategies other than the one a request picks.
 */
function refuseOptionsNotRead(request: Source, strategy: StrategyOptions, inner: StrategyOptions | undefined): void {
  for (const field of STRATEGY_FIELDS) {
    if (request.values[field] === undefined || fieldsOf[strategy.strategy].has(field) || (inner && fieldsOf[inner.strategy].has(field))) continue;
    const runs = inner ? `strategy ${strategy.strategy} with inner ${inner.strategy}` : `strategy ${strategy.strategy}`;
    throw badRequest(`${request.param(field)} does not apply to ${runs}`, request.param(field), "option_not_applicable");
  }
  // Within pairwise, by tournament: only auto replays split matches, and a round-robin has no finale.
  const pairwise = strategy.strategy === "pairwise" ? strategy : inner?.strategy === "pairwise" ? inner : undefined;
  if (!pairwise) return;
  const unread = [
    ...(pairwise.tournament !== "auto" ? (["rematches"] as const) : []),
    ...(pairwise.tournament === "round_robin" ? (["finale"] as const) : []),
  ].find((field) => request.values[field] !== undefined);
  if (unread) throw badRequest(`${request.param(unread)} does not apply to tournament ${pairwise.tournament}`, request.param(unread), "option_not_applicable");
}

/** `config`'s own map in `maps`, made on first use: what is kept per deployment. */
function mapOf<T>(maps: WeakMap<Config, Map<string, T>>, config: Config): Map<string, T> {
  let found = maps.get(config);
  if (found === undefined) maps.set(config, (found = new Map()));
  return found;
}

/** The strategy options parsed from a deployment's own settings, by virtual model (or none) and strategy. */
const strategiesByConfig = new WeakMap<Config, Map<string, StrategyOptions>>();
/** Whole resolutions of requests that set no option in their body (resolveOptions). */
const resolvedByConfig = new WeakMap<Config, Map<string, ResolvedOptions>>();
/** Resolutions kept per deployment: clients choose model names, so a full memo starts over. */
const MAX_RESOLVED = 256;
/** Longer model names are resolved afresh each time: kept, 256 names of a body's size each would hold gigabytes. */
const MAX_KEPT_MODEL_CHARS = 256;

/** A header's value in a memo key: absent and empty kept apart (empty is refused, absent is not). */
const keyPart = (value: string | null) => (value === null ? "-" : `=${value}`);

/**
 * A request that sets no option in its body (a pass-through, a best-of-N asked for by header) resolves to what every
 * such request with its model, `n` and x-verdict-* headers resolves to: one frozen result, kept per deployment.
 * Resolving afresh was about 3% of a pass-through's instructions (bench:instructions). A guard's result is never kept:
 * its documents come from the request's messages. Refusals are not kept either, only thrown again.
 */
export function resolveOptions(body: ChatRequest, headers: HeaderSource, config: Config): ResolvedOptions {
  if (body.verdict !== undefined || body.model.length > MAX_KEPT_MODEL_CHARS) return resolveFresh(body, headers, config);
  // The model last: the parts before it hold no NUL (header values cannot), so no model name reads as another key.
  const key = `${body.n ?? ""}\u0000${keyPart(headers.get("x-verdict-n"))}\u0000${keyPart(headers.get("x-verdict-strategy"))}\u0000${body.model}`;
  const resolved = mapOf(resolvedByConfig, config);
  const known = resolved.get(key);
  if (known !== undefined) return known;
  const options = resolveFresh(body, headers, config);
  if (options.strategy.strategy === "guard") return options;
  if (resolved.size >= MAX_RESOLVED) resolved.clear();
  resolved.set(key, Object.freeze(options));
  return options;
}

function resolveFresh(body: ChatRequest, headers: HeaderSource, config: Config): ResolvedOptions {
  // Own names only: a model called "constructor" is no virtual model.
  const virtual = Object.hasOwn(config.models, body.model) ? config.models[body.model] : undefined;
  const { model: virtualTarget, ...virtualValues } = virtual ?? { model: undefined };
  const sources: Source[] = [
    bodySource(body.verdict),
    headerSource(headers),
    { values: virtualValues, param: (f) => `verdict.${f}` },
    { values: config.defaults, param: (f) => `verdict.${f}` },
  ];
  const n = pick(sources, "n") as { value: number; param: string };
  const maxN = config.limits.max_n;
  if (n.value < 1 || n.value > maxN) throw badRequest(`${n.param} must be between 1 and ${maxN}`, n.param);
  const choices = body.n ?? 1;

  const strategyField = pick(sources, "strategy");
  const strategyInput: Record<string, unknown> = { strategy: strategyField.value };
  // Options the deployment alone sets (a request that names none of a strategy's fields, the common case) are parsed
  // once per model and strategy, not on every request: about 3% of a pass-through's CPU when measured, before whole
  // resolutions were kept (resolveOptions); it still spares requests that set, say, only `verdict.n`. A guard's are
  // never shared: its documents are the request's own.
  const requestSetsNone = !STRATEGY_FIELDS.some((field) => sources[0]!.values[field] !== undefined);
  const memoKey = requestSetsNone && strategyField.value !== "guard" ? `${virtual ? body.model : ""}\u0000${String(strategyField.value)}` : undefined;
  const memo = memoKey === undefined ? undefined : mapOf(strategiesByConfig, config);
  let strategy = memoKey === undefined ? undefined : memo!.get(memoKey);
  if (strategy === undefined) {
    for (const field of STRATEGY_FIELDS) strategyInput[field] = valueOf(sources, field);
    const parsed = strategyOptions.safeParse(strategyInput);
    if (!parsed.success) {
      const field = String(parsed.error.issues[0]!.path[0] ?? "strategy") as Field;
      const param = pick(sources, field).param;
      throw badRequest(`invalid ${param}: ${parsed.error.issues[0]!.message}`, param);
    }
    strategy = parsed.data;
    // Frozen: the one object every such request shares must not be changed by any of them.
    if (memoKey !== undefined) memo!.set(memoKey, Object.freeze(strategy));
  }

  let inner: StrategyOptions | undefined;
  if (strategy.strategy === "guard") {
    const guard = strategy;
    const given = normaliseContext(guard.context);
    // Sources to search are read only when no documents are given: a request that asks for both would not get one of
    // them. (A deployment's default sources, or its fixed context, beside what a request sets are simply not read.)
    if (given && setByRequest(sources, "context") && setByRequest(sources, "context_sources")) {
      const param = pick(sources, "context_sources").param;
      throw badRequest(`${param} chooses where to look for documents, and does not apply beside ${pick(sources, "context").param}, which gives them`, param, "option_not_applicable");
    }
    if (given) checkContextLimit(given, body.messages as unknown as Record<string, unknown>[], config.limits, pick(sources, "context").param);
    const documents = given ?? documentsFromMessages(body.messages, guard.context_sources);
    if (documents.length === 0) {
      throw badRequest(
        "the guard strategy needs the documents to check answers against: pass verdict.context (a string or an array " +
          "of strings), or put them in the messages: wrapped in <documents>...</documents> or <context>...</context>, " +
          "in a system message, or as tool results",
        "verdict.context",
      );
    }
    guard.context = documents;
    const parsedInner = strategyOptions.safeParse(withFields(strategyInput, { strategy: guard.inner }));
    if (!parsedInner.success) throw badRequest(`invalid options for the inner strategy ${guard.inner}: ${parsedInner.error.issues[0]!.message}`, "verdict.inner");
    inner = parsedInner.data;
  }

  refuseOptionsNotRead(sources[0]!, strategy, inner);

  const drawn = Math.max(n.value, choices);
  // A guard checks even a single answer: an unchecked answer is not a guarded one.
  const passThrough = strategy.strategy === "none" || (n.value === 1 && strategy.strategy !== "guard");
  // Passed through, the client's `n` is the upstream's to bound (OpenAI's is 128), as it would be without verdict; only
  // what verdict draws and judges is bounded here.
  if (!passThrough && choices > maxN) throw badRequest(`n must be between 1 and ${maxN}`, "n");
  // The tournament under a cap: the request's own, or a guard's inner one (among however many pass, up to all). A
  // request passed through makes no judge call, so no cap can refuse it.
  const tournament = passThrough ? undefined : strategy.strategy === "pairwise" ? strategy : inner?.strategy === "pairwise" ? inner : undefined;
  if (tournament?.max_judge_calls !== undefined) checkJudgeCallCap(tournament, drawn, n, sources);
  const picked = pick(sources, "min_candidates") as { value: number; param: string };
  // The deployment's floor (a default or a virtual model's) is for requests that draw that many; one drawing fewer (n
  // 1, a smaller n asked for) is not refused for a setting its client never made.
  const minCandidates = setByRequest(sources, "min_candidates") ? picked : withFields(picked, { value: Math.min(picked.value, drawn) });
  if (minCandidates.value > drawn) {
    throw badRequest(`${minCandidates.param} (${minCandidates.value}) is more than the ${drawn} candidates drawn`, minCandidates.param);
  }
  const trace = pick(sources, "trace") as { value: boolean | undefined; param: string };
  if (trace.value === true && !config.limits.allow_trace) {
    throw badRequest(`${trace.param} is not allowed on this server (limits.allow_trace is off)`, trace.param, "trace_not_allowed");
  }
  return {
    upstreamModel: config.generator.model ?? virtualTarget ?? body.model,
    n: drawn,
    choices,
    min_candidates: minCandidates.value,
    cache: (valueOf(sources, "cache") as boolean | undefined) ?? true,
    return_candidates: (valueOf(sources, "return_candidates") as boolean | undefined) ?? false,
    trace: trace.value ?? false,
    strategy,
    ...(inner ? { inner } : {}),
    passThrough,
  };
}

/**
 * A cap on judge calls is the operator's bound on what a request may spend: a request may set a lower one, never a
 * higher one, and one too low for its tournament is refused naming what the client can change.
 */
function checkJudgeCallCap(tournament: { tournament: string; max_judge_calls?: number }, drawn: number, n: { param: string; value: number }, sources: Source[]): void {
  const cap = tournament.max_judge_calls!;
  const param = pick(sources, "max_judge_calls").param;
  const deployment = (sources[2]!.values.max_judge_calls ?? sources[3]!.values.max_judge_calls) as number | undefined;
  if (setByRequest(sources, "max_judge_calls") && deployment !== undefined && cap > deployment) {
    throw badRequest(`${param} may be at most ${deployment}, this deployment's cap on judge calls per request`, param);
  }
  const needed = leastJudgeCalls(drawn, tournament.tournament);
  if (cap >= needed) return;
  const kind = tournament.tournament === "round_robin" ? "round-robin" : "knockout";
  if (setByRequest(sources, "max_judge_calls")) throw badRequest(`${param} must be at least ${needed}: a ${kind} of ${drawn} candidates needs that many`, param);
  // The deployment's cap: the client never sent it, so the error names what the client can change: its n, or the
  // round-robin it asked for when it named one and no n.
  const fewer = drawn === n.value ? n.param : "n";
  const roundRobinAsked = kind === "round-robin" && setByRequest(sources, "tournament") && !setByRequest(sources, "n") && drawn === n.value;
  const asked = roundRobinAsked ? pick(sources, "tournament").param : fewer;
  throw badRequest(
    `this deployment allows ${cap} judge calls per request, and a ${kind} of ${drawn} candidates needs ${needed}: ask for fewer (${fewer})${roundRobinAsked ? ` or a knockout (${asked})` : ""}`,
    asked,
  );
}
