// Sorting drawn candidates before judging: identical ones merge, unusable ones rank last without a judge call.
// Every rule that keeps a candidate from the judge lives here: empty, truncated, filtered, JSON that breaks the
// client's response_format, tool use that breaks its tool_choice, and the minority side of a text/tool-call split.
import type { Candidate } from "../strategies/types";
import { schemaMismatch, type JsonSchema } from "./openai/json-schema";

export type Exclusion =
  | "empty"
  | "truncated"
  | "unfinished"
  | "content_filter"
  | "invalid_json"
  | "schema_mismatch"
  | "arguments_mismatch"
  | "missing_tool_call"
  | "unexpected_tool_call"
  | "wrong_tool"
  | "malformed_tool_call"
  | "minority_kind";

/** Worst last: an answer of the other kind is still a fine answer; a truncated one says something; an empty one nothing. */
const EXCLUSION_ORDER: Exclusion[] = [
  "minority_kind",
  "truncated",
  "unfinished",
  "content_filter",
  "schema_mismatch",
  "arguments_mismatch",
  "invalid_json",
  "malformed_tool_call",
  "wrong_tool",
  "missing_tool_call",
  "unexpected_tool_call",
  "empty",
];

/**
 * Finish reasons of an answer the server stopped writing before its end: vLLM's and SGLang's "abort" (a request
 * cancelled or preempted), "error". A partial answer judged as a whole one could win, and the shorter-answer tie-break
 * would favour it.
 */
const UNFINISHED = new Set(["abort", "error"]);

/** What the client's request demands of a candidate, read once from the forwarded body. */
export interface AdmissionRules {
  /** response_format json_object (no schema) or json_schema (with one): the content must parse and fit. */
  json?: { schema?: JsonSchema };
  /** Only set when the request offers tools. "auto": both kinds allowed, the majority kind is judged. */
  toolChoice?: "auto" | "required" | "none";
  /**
   * The tools a tool_choice names (one function, or allowed_tools), else every tool offered, else none: a call of any
   * other breaks it.
   */
  toolNames?: Set<string>;
  /** The legacy `functions` offered, by name (none when there are none): a `function_call` of any other breaks it. */
  functionNames?: ReadonlySet<string>;
  /** The parameters of each function tool marked `strict: true`, by name: its calls' arguments must fit them. */
  strictParameters?: Map<string, JsonSchema>;
}

/** A function or custom tool as a tool_choice names it, or as a call calls it. */
type NamedTool = { function?: { name?: unknown }; custom?: { name?: unknown } } | null | undefined;
const toolNameOf = (tool: NamedTool): unknown => tool?.function?.name ?? tool?.custom?.name;

/** The names a tool_choice object allows calls of, or undefined when it names none. */
function namedTools(choice: unknown): Set<string> | undefined {
  if (typeof choice !== "object" || choice === null) return undefined;
  const named = choice as NamedTool & { allowed_tools?: { tools?: unknown } };
  const names = Array.isArray(named.allowed_tools?.tools) ? (named.allowed_tools.tools as NamedTool[]).map(toolNameOf) : [toolNameOf(named)];
  const valid = names.filter((name): name is string => typeof name === "string");
  return valid.length > 0 ? new Set(valid) : undefined;
}

/** The names of the tools a request offers (function and custom tools), or undefined when none has a name to read. */
function offeredTools(tools: NamedTool[]): Set<string> | undefined {
  const names = tools.map(toolNameOf).filter((name): name is string => typeof name === "string");
  return names.length > 0 ? new Set(names) : undefined;
}

/**
 * What is wrong with the candidate's function calls, if anything: arguments that are not a JSON object, as the client
 * will parse them (a call cut off mid-way is shorter, and the tie-break's shorter answer would favour it), or that do
 * not fit the parameters of a tool marked strict (the SDK's parse() validates those, and fails the whole call). Custom
 * tools take free text and are not checked.
 */
function callProblem(candidate: Candidate, strict: Map<string, JsonSchema> | undefined): "malformed_tool_call" | "arguments_mismatch" | null {
  let mismatch = false;
  for (const call of candidate.message.tool_calls as { function?: { name?: unknown; arguments?: unknown }; custom?: unknown }[]) {
    if (call?.custom !== undefined) continue;
    if (typeof call?.function?.name !== "string" || typeof call.function.arguments !== "string") return "malformed_tool_call";
    let args: unknown;
    try {
      args = JSON.parse(call.function.arguments);
    } catch {
      return "malformed_tool_call";
    }
    if (typeof args !== "object" || args === null || Array.isArray(args)) return "malformed_tool_call";
    const parameters = strict?.get(call.function.name);
    if (parameters !== undefined && schemaMismatch(args, parameters) !== null) mismatch = true;
  }
  return mismatch ? "arguments_mismatch" : null;
}

/** The parameters of the function tools marked strict, by name; undefined when there are none. */
function strictParameters(tools: unknown[]): Map<string, JsonSchema> | undefined {
  const found = new Map<string, JsonSchema>();
  for (const tool of tools as { function?: { name?: unknown; strict?: unknown; parameters?: unknown } }[]) {
    const fn = tool?.function;
    if (fn?.strict === true && typeof fn.name === "string" && typeof fn.parameters === "object" && fn.parameters !== null) found.set(fn.name, fn.parameters as JsonSchema);
  }
  return found.size > 0 ? found : undefined;
}

/** A tool_choice object that still lets the model answer in text: allowed_tools in mode auto. A named tool does not. */
function allowsText(choice: object): boolean {
  const allowed = choice as { type?: unknown; allowed_tools?: { mode?: unknown } };
  return allowed.type === "allowed_tools" && allowed.allowed_tools?.mode === "auto";
}

/** A request that offers no tools (or no legacy functions): no call of one is an answer to it. */
const NONE_OFFERED: ReadonlySet<string> = new Set();

/** The names of the legacy `functions` a request offers. */
function offeredFunctions(functions: unknown): ReadonlySet<string> {
  if (!Array.isArray(functions) || functions.length === 0) return NONE_OFFERED;
  return new Set(functions.map((fn) => (fn as { name?: unknown } | null)?.name).filter((name): name is string => typeof name === "string"));
}

export function admissionRules(body: Record<string, unknown>): AdmissionRules {
  const rules: AdmissionRules = { functionNames: offeredFunctions(body.functions) };
  const format = body.response_format as { type?: string; json_schema?: { schema?: JsonSchema } } | undefined;
  if (format?.type === "json_object") rules.json = {};
  if (format?.type === "json_schema") rules.json = { schema: format.json_schema?.schema };
  if (Array.isArray(body.tools) && body.tools.length > 0) {
    const choice = body.tool_choice;
    rules.toolChoice = choice === "none" ? "none" : choice === "required" || (typeof choice === "object" && choice !== null && !allowsText(choice)) ? "required" : "auto";
    const names = namedTools(choice) ?? offeredTools(body.tools as NamedTool[]);
    if (names) rules.toolNames = names;
    const strict = strictParameters(body.tools);
    if (strict) rules.strictParameters = strict;
  } else {
    rules.toolNames = NONE_OFFERED as Set<string>;
  }
  return rules;
}

/** Whether every tool the candidate calls is one of `names`. */
function callsOnly(candidate: Candidate, names: Set<string>): boolean {
  const calls = candidate.message.tool_calls as NamedTool[];
  return calls.every((call) => names.has(String(toolNameOf(call))));
}

/** Whether the candidate calls a legacy function (`function_call`, the answer to `functions`). */
function calledFunction(candidate: Candidate): boolean {
  const call = candidate.message.function_call;
  return typeof call === "object" && call !== null;
}

export function callsTools(candidate: Candidate): boolean {
  return Array.isArray(candidate.message.tool_calls) && candidate.message.tool_calls.length > 0;
}

/** Nothing to read: whitespace, and characters that show nothing (zero-width spaces and joiners, word joiners). */
const SHOWS_NOTHING = /^[\s\u200B-\u200D\u2060]*$/;

export function isBlank(text: string): boolean {
  return SHOWS_NOTHING.test(text);
}

/** A refusal in its own field (`message.refusal`), with no content beside it. */
export function declined(candidate: Candidate): boolean {
  const { content, refusal } = candidate.message;
  return typeof refusal === "string" && !isBlank(refusal) && (content === null || content === undefined || content === "");
}

export function exclusionOf(candidate: Candidate, rules: AdmissionRules = {}): Exclusion | null {
  if (isBlank(candidate.text)) return "empty";
  const calls = callsTools(candidate);
  if (rules.toolChoice === "required" && !calls) return "missing_tool_call";
  if (rules.toolChoice === "none" && calls) return "unexpected_tool_call";
  const problem = calls ? callProblem(candidate, rules.strictParameters) : null;
  if (problem === "malformed_tool_call") return problem;
  if (rules.toolNames && calls && !callsOnly(candidate, rules.toolNames)) return "wrong_tool";
  if (calledFunction(candidate) && !rules.functionNames?.has(String((candidate.message.function_call as { name?: unknown }).name))) return "wrong_tool";
  if (problem !== null) return problem;
  if (candidate.finish_reason === "length") return "truncated";
  if (candidate.finish_reason !== null && UNFINISHED.has(candidate.finish_reason)) return "unfinished";
  if (candidate.finish_reason === "content_filter") return "content_filter";
  // A model declining under structured output says so in `refusal` instead of JSON, as the SDKs expect: an answer to
  // judge like the others, not malformed JSON.
  if (rules.json && !calls && !declined(candidate)) {
    let value: unknown;
    try {
      value = JSON.parse(typeof candidate.message.content === "string" ? candidate.message.content : "");
    } catch {
      return "invalid_json";
    }
    if (rules.json.schema ? schemaMismatch(value, rules.json.schema) !== null : typeOf(value) !== "object") return "schema_mismatch";
  }
  return null;
}

const typeOf = (value: unknown) => (value === null ? "null" : Array.isArray(value) ? "array" : typeof value);

export interface CandidatePool {
  all: Candidate[];
  /** Distinct, usable candidates: what the judge sees. */
  judgeable: Candidate[];
  excluded: Map<number, Exclusion>;
  /** Accepts a candidate; returns it when the judge should see it now, null when excluded, merged or held back. */
  admit(candidate: Candidate): Candidate | null;
  /** Call once every candidate is in: releases the ones held back for the text/tool-call majority rule. */
  settle(): Candidate[];
  /** Excluded candidates, best first. */
  excludedRanking(): number[];
  byIndex(index: number): Candidate;
}

export function createCandidatePool(rules: AdmissionRules = {}): CandidatePool {
  const all: Candidate[] = [];
  const judgeable: Candidate[] = [];
  const excluded = new Map<number, Exclusion>();
  const distinct = new Map<string, Candidate>();
  // Under tool_choice auto the majority kind is only known at the end, so candidates wait until then.
  const held: Candidate[] | null = rules.toolChoice === "auto" ? [] : null;

  const judgeNow = (candidate: Candidate): Candidate | null => {
    // Repeats by all their text, reasoning written inline included: a repeat takes its twin's verdict, and a guard's
    // check of one answer's reasoning says nothing of another's.
    const whole = candidate.fullText ?? candidate.text;
    const twin = distinct.get(whole);
    if (twin) {
      twin.duplicates.push(candidate.index);
      return null;
    }
    distinct.set(whole, candidate);
    judgeable.push(candidate);
    return candidate;
  };

  return {
    all,
    judgeable,
    excluded,
    admit(candidate) {
      all.push(candidate);
      const exclusion = exclusionOf(candidate, rules);
      if (exclusion) {
        excluded.set(candidate.index, exclusion);
        return null;
      }
      if (held) return void held.push(candidate), null;
      return judgeNow(candidate);
    },
    settle() {
      if (!held) return [];
      const calling = held.filter(callsTools).length;
      // Ties go to tool calls: a model torn between answering and looking something up usually needs the lookup.
      const wantCalls = calling * 2 >= held.length;
      const released: Candidate[] = [];
      for (const candidate of held.splice(0)) {
        if (callsTools(candidate) !== wantCalls) excluded.set(candidate.index, "minority_kind");
        else if (judgeNow(candidate)) released.push(candidate);
      }
      return released;
    },
    excludedRanking() {
      return [...excluded.entries()]
        .sort(([ia, a], [ib, b]) => EXCLUSION_ORDER.indexOf(a) - EXCLUSION_ORDER.indexOf(b) || ia - ib)
        .map(([index]) => index);
    },
    byIndex(index) {
      const found = all.find((c) => c.index === index);
      if (!found) throw new Error(`no candidate ${index}`);
      return found;
    },
  };
}
