// Judge backend for any OpenAI-compatible server (SGLang, vLLM, OpenAI): structured output, lenient parse, one retry.
import type OpenAI from "openai";
import type { PairInput, PairVerdict } from "../../strategies/types";
import { addUsage, ZERO_USAGE, type Usage } from "../openai/chat";
import { upstreamFailure, type Upstream } from "../upstream";
import type { JudgeBackend, Judged } from "./backend";
import { PAIRWISE_RESPONSE_FORMAT, PAIRWISE_TEMPLATE, pairwiseMessages } from "./pairwise-prompt";
import { parsePairVerdict } from "./parse";

type ChatParams = OpenAI.Chat.Completions.ChatCompletionCreateParamsNonStreaming;

export interface OpenAIJudgeSettings {
  model: string;
  temperature: number;
  max_tokens: number;
  structured_output: boolean;
}

/** Tries a prompt up to twice, until `parse` accepts the judge's text; the caller decides what a failure means. */
async function askUntilParsed<T>(
  upstream: Upstream,
  params: Omit<ChatParams, "response_format">,
  format: { current: ChatParams["response_format"] | undefined },
  parse: (text: string) => T | null,
  signal: AbortSignal,
): Promise<Judged<T | null> & { lastText: string }> {
  let usage: Usage = ZERO_USAGE;
  let calls = 0;
  let lastText = "";
  while (calls < 2) {
    calls += 1;
    let completion: OpenAI.Chat.Completions.ChatCompletion;
    try {
      const body = format.current ? { ...params, response_format: format.current } : params;
      completion = await upstream.schedule(() => upstream.client.chat.completions.create(body, { signal }), signal);
    } catch (err) {
      const failure = upstreamFailure("judge", err);
      // A server without guided decoding refuses response_format; stop asking for it and try again in plain text.
      if (failure.status === 400 && format.current) {
        format.current = undefined;
        continue;
      }
      throw failure;
    }
    usage = addUsage(usage, completion.usage);
    lastText = completion.choices[0]?.message.content ?? "";
    const value = parse(lastText);
    if (value !== null) return { value, usage, calls, lastText };
  }
  return { value: null, usage, calls, lastText };
}

export function createOpenAIJudge(upstream: Upstream, settings: OpenAIJudgeSettings): JudgeBackend {
  const format = { current: settings.structured_output ? (PAIRWISE_RESPONSE_FORMAT as ChatParams["response_format"]) : undefined };
  const sampling = { temperature: settings.temperature, max_tokens: settings.max_tokens };
  return {
    model: settings.model,
    identity: { backend: "openai-compatible", model: settings.model, template: PAIRWISE_TEMPLATE, ...sampling },
    async comparePair(input: PairInput, signal: AbortSignal): Promise<Judged<PairVerdict>> {
      const messages = pairwiseMessages(input.conversation, input.a.text, input.b.text) as ChatParams["messages"];
      const asked = await askUntilParsed(upstream, { model: settings.model, messages, ...sampling }, format, parsePairVerdict, signal);
      const value: PairVerdict = asked.value
        ? { ...asked.value, parsed: true }
        : { winner: "tie", reasoning: `unparseable judge answer: ${asked.lastText.slice(0, 200)}`, parsed: false };
      return { value, usage: asked.usage, calls: asked.calls };
    },
  };
}
