// Wire schemas for chat completions: validate what verdict relies on, let every other field through untouched.
import { z } from "zod";
import { canonicalJson } from "../cache/key";
import { withFields } from "../util/with-fields";

const contentPart = z.looseObject({ type: z.string() });

export const chatMessageSchema = z.looseObject({
  role: z.enum(["system", "developer", "user", "assistant", "tool", "function"]),
  content: z.union([z.string(), z.array(contentPart), z.null()]).optional(),
  // Read when a judge is shown the conversation (messageText below).
  tool_calls: z.array(z.looseObject({ function: z.looseObject({}).optional() })).nullable().optional(),
});

export const chatRequestSchema = z.looseObject({
  model: z.string().min(1),
  messages: z.array(chatMessageSchema).min(1),
  // null is what the SDKs' types allow and send for "not set": read as absent.
  n: z.number().int().min(1).nullable().optional(),
  stream: z.boolean().nullable().optional(),
  // verdict reads it when it streams a reranked answer itself (the usage chunk), so it is checked here as OpenAI does.
  stream_options: z.looseObject({ include_usage: z.boolean().nullable().optional() }).nullable().optional(),
  seed: z.number().int().nullable().optional(),
  verdict: z.unknown().optional(),
});

export type ChatRequest = z.infer<typeof chatRequestSchema>;

/** Token counts by kind (cached_tokens, reasoning_tokens, audio_tokens, ...), as an upstream breaks a total down. */
export type UsageDetails = Record<string, number>;

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details?: UsageDetails;
  completion_tokens_details?: UsageDetails;
}

export const ZERO_USAGE: Usage = Object.freeze({ prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 });

/** Usage as an upstream reports it: any of the fields, breakdowns of any shape. */
export interface ReportedUsage {
  prompt_tokens?: number;
  completion_tokens?: number;
  prompt_tokens_details?: unknown;
  completion_tokens_details?: unknown;
}

/**
 * A token count as an upstream wrote it: a number, or one written as a string ("5"), which must not be joined as text.
 * A negative or non-finite count is no count (0): summed into usage it would lower the bill, and a metric's counter
 * only goes up.
 */
export function tokenCount(value: unknown): number {
  const count = typeof value === "number" ? value : typeof value === "string" && value.trim() !== "" ? Number(value) : NaN;
  return Number.isFinite(count) && count > 0 ? count : 0;
}

/** Two breakdowns added kind by kind; undefined while neither side has one. */
function addDetails(a: UsageDetails | undefined, b: unknown): UsageDetails | undefined {
  if (b === null || typeof b !== "object") return a;
  // A copy by withFields, not `{ ...a }`: a spread copy that then gains fields gets a hidden class of its own.
  const sum: UsageDetails = withFields(a ?? {}, {});
  for (const [kind, count] of Object.entries(b)) if (typeof count === "number" || typeof count === "string") sum[kind] = (sum[kind] ?? 0) + tokenCount(count);
  return sum;
}

/**
 * The tokens of two calls together. The breakdowns are kept (cached prompt tokens and reasoning tokens are billed
 * differently); `total_tokens` is always the sum of the two kinds, whatever a call reported.
 */
export function addUsage(a: Usage, b: ReportedUsage | null | undefined): Usage {
  const prompt = a.prompt_tokens + tokenCount(b?.prompt_tokens);
  const completion = a.completion_tokens + tokenCount(b?.completion_tokens);
  const sum: Usage = { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
  const promptDetails = addDetails(a.prompt_tokens_details, b?.prompt_tokens_details);
  const completionDetails = addDetails(a.completion_tokens_details, b?.completion_tokens_details);
  if (promptDetails) sum.prompt_tokens_details = promptDetails;
  if (completionDetails) sum.completion_tokens_details = completionDetails;
  return sum;
}

/** Whether an upstream's choice has a message to be a candidate with (a broken answer may carry `message: null`). */
export function hasMessage(choice: unknown): choice is { message: Record<string, unknown> } {
  const message = (choice as { message?: unknown } | null | undefined)?.message;
  return typeof message === "object" && message !== null;
}

/**
 * Flattens message content (string or parts) to the text a judge can read: a part without text shows as its type
 * ("[image_url]"), unless `marks` is false, for text a user reads as the answer itself.
 */
export function contentText(content: unknown, marks = true): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content
    .map((part: { type?: string; text?: unknown; refusal?: unknown }) => {
      if (typeof part?.text === "string") return part.text;
      if (!marks || !part?.type) return "";
      // An earlier turn that declined in a refusal part: what it said is part of the conversation.
      return typeof part.refusal === "string" ? `[${part.type}] ${part.refusal}` : `[${part.type}]`;
    })
    // Parts read by the judge stay apart ("Look at this:" then "what is it?"), as the Responses API's input parts do.
    .join(marks ? "\n" : "");
}

interface ToolCall {
  function?: { name?: string; arguments?: string };
  custom?: { name?: string; input?: string };
}

/**
 * A function call's arguments in one spelling: models vary spacing and key order from one sample to the next, and
 * `{"city": "Paris"}` is the same call as `{"city":"Paris"}`. Arguments that are not JSON stay as they were written.
 */
function argumentsText(raw: string | undefined): string {
  if (raw === undefined) return "";
  try {
    return canonicalJson(JSON.parse(raw));
  } catch {
    return raw;
  }
}

/** One tool call as a judge reads it (and as identical candidates are told apart): name(arguments) or name(input). */
function callText(call: ToolCall): string {
  if (call.function) return `${call.function.name ?? "?"}(${argumentsText(call.function.arguments)})`;
  if (call.custom) return `${call.custom.name ?? "?"}(${call.custom.input ?? ""})`;
  return JSON.stringify(call); // a kind of call not known here: all of it, so that different calls never read the same
}

/** A message's tool calls, one line each, and a legacy function call; "" when it makes none. */
export function callsText(message: Record<string, unknown>): string {
  const calls = Array.isArray(message.tool_calls) ? (message.tool_calls as ToolCall[]) : [];
  const lines = calls.map((call) => `[tool call] ${callText(call)}`);
  const legacy = message.function_call as ToolCall["function"] | null | undefined;
  if (typeof legacy === "object" && legacy !== null) lines.push(`[function call] ${callText({ function: legacy })}`);
  return lines.join("\n");
}

const THINK_OPEN = "<think>";
const THINK_CLOSE = "</think>";

/**
 * Where a generator writes its reasoning inline (generator.inline_reasoning): "leading_block", a "<think>...</think>"
 * block the content opens with, as vLLM and SGLang send it without a reasoning parser; "opened_by_template", also
 * everything before a closing tag, for chat templates that open the block in the prompt (the answer then holds only
 * "</think>"); "off", none.
 */
export type InlineReasoning = "leading_block" | "opened_by_template" | "off";

/**
 * An answer without the reasoning a model wrote inline before it. What is compared and voted on is the answer, as with
 * `reasoning_content`, which no judge is shown: a long deliberation must not win a match for its answer, nor a guess in
 * it be counted as the vote. Reasoning never closed (cut off) leaves no answer. By default only a block the text opens
 * with: a closing tag alone may be the answer's own words about tags, unless the operator says the template opened it.
 * Without a closing tag a template-opened answer is kept whole: a request that turned thinking off (Qwen3's
 * enable_thinking) has none, and one cut off inside its reasoning finished with "length" and ranks as truncated.
 */
export function withoutInlineReasoning(text: string, where: InlineReasoning = "leading_block"): string {
  if (where === "off") return text;
  const close = text.indexOf(THINK_CLOSE);
  if (where === "opened_by_template" && close >= 0) return text.slice(close + THINK_CLOSE.length).trimStart();
  if (!text.trimStart().startsWith(THINK_OPEN)) return text;
  return close < 0 ? "" : text.slice(close + THINK_CLOSE.length).trimStart();
}

/**
 * An assistant message as text: its content, its refusal (a model declining under structured output says so in
 * `refusal`, with no content: an answer all the same, not an empty one), what it said aloud (a spoken answer has its
 * words only in `audio.transcript`), then each tool call.
 */
export function messageText(message: Record<string, unknown>): string {
  const refusal = typeof message.refusal === "string" ? message.refusal : "";
  const audio = message.audio as { transcript?: unknown } | null | undefined;
  // The words as said, unmarked: a guard's judge checks each claim in them, and a mark would read as one. An earlier
  // spoken turn sent back by its id alone still shows that the assistant answered.
  const spoken = typeof audio?.transcript === "string" ? audio.transcript : typeof audio === "object" && audio !== null ? "[audio]" : "";
  return [contentText(message.content), refusal, spoken, callsText(message)].filter((p) => p !== "").join("\n");
}
