// Wire schemas for chat completions: validate what verdict relies on, let every other field through untouched.
import { z } from "zod";
import { canonicalJson } from "../cache/key";

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

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export const ZERO_USAGE: Usage = Object.freeze({ prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 });

export function addUsage(a: Usage, b: Partial<Usage> | null | undefined): Usage {
  const prompt = a.prompt_tokens + (b?.prompt_tokens ?? 0);
  const completion = a.completion_tokens + (b?.completion_tokens ?? 0);
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

/** Flattens message content (string or parts) to the text a judge can read. */
export function contentText(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content
    .map((part: { type?: string; text?: unknown }) =>
      typeof part?.text === "string" ? part.text : part?.type ? `[${part.type}]` : "",
    )
    .join("");
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

/** An assistant message as text: its content, then each tool call. */
export function messageText(message: Record<string, unknown>): string {
  const parts = [contentText(message.content)];
  const calls = Array.isArray(message.tool_calls) ? (message.tool_calls as ToolCall[]) : [];
  for (const call of calls) parts.push(`[tool call] ${callText(call)}`);
  return parts.filter((p) => p !== "").join("\n");
}
