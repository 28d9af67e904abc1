// Streams a simulated completion as OpenAI chat.completion.chunk events, paced by the latency model.
import type { Context } from "hono";
import { streamSSE } from "hono/streaming";
import { countTokens } from "./generator";
import { delayFor, sleep } from "./timing";
import type { LatencyModel } from "./options";

interface Completion {
  id: string;
  created: number;
  model: string;
  choices: { index: number; message: { content: string | null; tool_calls?: unknown[] }; finish_reason: string }[];
  usage: unknown;
  system_fingerprint: string;
}

interface Pace {
  latency: LatencyModel;
  random: () => number;
  signal: AbortSignal;
  includeUsage: boolean;
  onFinished: () => void;
}

export function streamCompletion(c: Context, completion: Completion, { latency, random, signal, includeUsage, onFinished }: Pace) {
  const frame = (choices: unknown[], extra: Record<string, unknown> = {}) =>
    JSON.stringify({
      id: completion.id,
      object: "chat.completion.chunk",
      created: completion.created,
      model: completion.model,
      system_fingerprint: completion.system_fingerprint,
      choices,
      ...extra,
    });
  return streamSSE(c, async (sse) => {
    await sleep(latency.ttft_ms, signal).catch(() => undefined);
    for (const choice of completion.choices) {
      const { content, tool_calls } = choice.message;
      await sse.writeSSE({ data: frame([{ index: choice.index, delta: { role: "assistant", content: content === null ? null : "" }, finish_reason: null }]) });
      // A simulated tool call arrives whole in one delta; verdict's own replay is what splits arguments.
      const calls = (tool_calls ?? []).map((call, index) => ({ index, ...(call as object) }));
      if (calls.length > 0) await sse.writeSSE({ data: frame([{ index: choice.index, delta: { tool_calls: calls }, finish_reason: null }]) });
      for (const piece of content?.match(/\S+\s*/g) ?? []) {
        if (signal.aborted) return;
        const pace = latency.tokens_per_second > 0 ? delayFor({ ...latency, ttft_ms: 0 }, countTokens(piece), random) : 0;
        await sleep(pace, signal).catch(() => undefined);
        await sse.writeSSE({ data: frame([{ index: choice.index, delta: { content: piece }, finish_reason: null }]) });
      }
      await sse.writeSSE({ data: frame([{ index: choice.index, delta: {}, finish_reason: choice.finish_reason }]) });
    }
    if (includeUsage) await sse.writeSSE({ data: frame([], { usage: completion.usage }) });
    await sse.writeSSE({ data: "[DONE]" });
    onFinished();
  });
}
