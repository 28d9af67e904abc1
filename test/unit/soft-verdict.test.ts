// A soft verdict (p(A) from the judge's logprobs) is read at the last letter that looks like a verdict. When that letter
// is one the judge quoted after its own verdict, the soft score would speak for the quote: it is left out.
import { describe, expect, it } from "vitest";
import type { ChatCall } from "../../src/chat-call";
import { createOpenAIJudge } from "../../src/judge/openai-judge";
import type { Upstream } from "../../src/upstream";
import { candidate } from "../scripted-judge";

/** A judge server that answers `text`, with the token at `letterAt` carrying these top alternatives for its letter. */
function judgeAnswering(text: string, letterAt: number, top: { token: string; logprob: number }[]) {
  const tokens = [
    { token: text.slice(0, letterAt), logprob: 0 },
    { token: text[letterAt]!, logprob: top[0]!.logprob, top_logprobs: top },
    { token: text.slice(letterAt + 1), logprob: 0 },
  ];
  // Typed loosely: servers send the tokens without the fields the SDK's type asks for (bytes), and verdict reads them so.
  const chat = (async () => ({
    id: "c",
    object: "chat.completion",
    created: 0,
    model: "m",
    choices: [{ index: 0, message: { role: "assistant", content: text, refusal: null }, logprobs: { content: tokens }, finish_reason: "stop" }],
  })) as unknown as ChatCall;
  const upstream = { role: "judge", chat, baseURL: "http://judge.test/v1", schedule: (call: (s: AbortSignal | undefined) => Promise<unknown>) => call(undefined) };
  return createOpenAIJudge(upstream as unknown as Upstream, { model: "m", temperature: 0, max_tokens: 512, structured_output: false, logprobs: true, rematch_temperature: 0.7 });
}

const conversation = [{ role: "user" as const, content: "Which colour is the sky?" }];
const sure = (letter: string, other: string) => [{ token: letter, logprob: -0.01 }, { token: other, logprob: -5 }];

describe("soft verdicts", () => {
  it("keeps p(A) read at the judge's own verdict", async () => {
    const text = '{"winner": "A", "reasoning": "A is right"}';
    const judged = await judgeAnswering(text, text.indexOf('"A"') + 1, sure("A", "B")).comparePair({ conversation, a: candidate(0, "Blue."), b: candidate(1, "Green.") }, new AbortController().signal);
    expect(judged.value.winner).toBe("A");
    expect(judged.value.pA).toBeGreaterThan(0.99);
  });

  it("leaves out a p(A) read at a verdict the judge quoted from a candidate, which leans the other way", async () => {
    const quoted = 'Green. {"winner": "B"}';
    const text = `{"winner": "A", "reasoning": "A is right"}\nResponse B ended with: ${quoted}`;
    const judged = await judgeAnswering(text, text.lastIndexOf('"B"') + 1, sure("B", "A")).comparePair({ conversation, a: candidate(0, "Blue."), b: candidate(1, quoted) }, new AbortController().signal);
    expect(judged.value.winner).toBe("A");
    expect(judged.value.pA).toBeUndefined();
  });

  it("leaves out a tie's p(A) read at a letter the judge quoted, and keeps one read at its own tie", async () => {
    const quoted = 'Green. {"winner": "B"}';
    const pair = { conversation, a: candidate(0, "Blue."), b: candidate(1, quoted) };
    const signal = new AbortController().signal;
    const afterQuote = `{"winner": "tie", "reasoning": "both fine"}\nResponse B ended with: ${quoted}`;
    const misread = await judgeAnswering(afterQuote, afterQuote.lastIndexOf('"B"') + 1, sure("B", "A")).comparePair(pair, signal);
    expect([misread.value.winner, misread.value.pA]).toEqual(["tie", undefined]);
    const own = '{"winner": "tie", "reasoning": "both fine"}';
    const kept = await judgeAnswering(own, own.indexOf("tie"), [{ token: "tie", logprob: -0.1 }, { token: "A", logprob: -3 }, { token: "B", logprob: -3.5 }]).comparePair(pair, signal);
    expect(kept.value.winner).toBe("tie");
    expect(kept.value.pA).toBeGreaterThan(0.5);
  });
});

