// The generator's choices for one request: prose, a tool call or JSON as the request asks, with optional logprobs.
import { countTokens, simulatedAnswer } from "./generator";
import { simulatedJson, wantsJson } from "./json";
import { hashText } from "./random";
import type { SimOptions } from "./options";
import { decidesToCall, simulatedToolCall } from "./tools";

export interface SimChoice {
  index: number;
  message: { role: "assistant"; content: string | null; refusal: null; tool_calls?: unknown[] };
  logprobs: { content: { token: string; logprob: number; bytes: number[]; top_logprobs: [] }[]; refusal: null } | null;
  finish_reason: string;
}

/** Seeded per-token logprobs whose tokens concatenate to the content, as a real server's do. */
function logprobsOf(content: string) {
  const tokens = content.match(/\S+\s*|\s+/g) ?? [];
  return {
    content: tokens.map((token) => ({
      token,
      logprob: -(hashText(`lp:${token}`) % 2000) / 1000,
      bytes: [...new TextEncoder().encode(token)],
      top_logprobs: [] as [],
    })),
    refusal: null,
  };
}

export function generatorChoices(body: Record<string, unknown>, prompt: string, seeds: number[], options: SimOptions): SimChoice[] {
  const spec = options.generator;
  const maxTokens = typeof body.max_tokens === "number" ? body.max_tokens : Infinity;
  return seeds.map((seed, index) => {
    if (decidesToCall(body, seed, spec.tool_call_rate)) {
      const call = simulatedToolCall(body, seed);
      return { index, message: { role: "assistant", content: null, refusal: null, tool_calls: [call] }, logprobs: null, finish_reason: "tool_calls" };
    }
    const prose = simulatedAnswer({ prompt, seed, minSentences: spec.min_sentences, maxSentences: spec.max_sentences });
    const full = wantsJson(body) ? simulatedJson(body, prose, seed, spec.invalid_json_rate) : prose;
    const truncated = countTokens(full) > maxTokens;
    const content = truncated ? full.split(" ").slice(0, Math.max(1, maxTokens)).join(" ") : full;
    return {
      index,
      message: { role: "assistant", content, refusal: null },
      logprobs: body.logprobs === true ? logprobsOf(content) : null,
      finish_reason: truncated ? "length" : "stop",
    };
  });
}

export function completionTokensOf(choices: SimChoice[]): number {
  return choices.reduce((sum, ch) => sum + countTokens(ch.message.content ?? JSON.stringify(ch.message.tool_calls)), 0);
}
