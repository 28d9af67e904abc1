// The judge's request body is written as JSON text with its fixed parts serialised once (src/judge/openai-judge.ts):
// what the judge server receives must be exactly the request the prompts and settings describe, for every task.
import { describe, expect, it } from "vitest";
import type { ChatCall } from "../../src/chat-call";
import { createOpenAIJudge, type OpenAIJudgeSettings } from "../../src/judge/openai-judge";
import { GROUNDING_RESPONSE_FORMAT, GROUNDING_SYSTEM, groundingMessages } from "../../src/judge/grounding-prompt";
import { PAIRWISE_RESPONSE_FORMAT, pairwiseMessages } from "../../src/judge/pairwise-prompt";
import { rubricMessages, rubricResponseFormat } from "../../src/judge/rubric-prompt";
import type { Upstream } from "../../src/upstream";
import type { Candidate, ChatMessage } from "../../strategies/types";

const SETTINGS: OpenAIJudgeSettings = {
  model: "judge-\"quoted\"-model",
  temperature: 0,
  max_tokens: 512,
  structured_output: true,
  logprobs: false,
  rematch_temperature: 0.7,
};

/** A judge whose server answers `answer` and records each body as the server would parse it. */
function recordingJudge(settings: Partial<OpenAIJudgeSettings>, answer: string) {
  const bodies: unknown[] = [];
  const chat: ChatCall = async (body) => {
    expect(typeof body).toBe("string"); // sent as written, not serialised again
    bodies.push(JSON.parse(body as string));
    return {
      id: "c",
      object: "chat.completion",
      created: 0,
      model: "m",
      choices: [{ index: 0, message: { role: "assistant", content: answer, refusal: null }, logprobs: null, finish_reason: "stop" }],
    };
  };
  const upstream = { role: "judge", chat, baseURL: "http://judge.test/v1", schedule: (call: (s: AbortSignal | undefined) => Promise<unknown>) => call(undefined) };
  const judge = createOpenAIJudge(upstream as unknown as Upstream, { ...SETTINGS, ...settings });
  return { judge, bodies };
}

const conversation: ChatMessage[] = [
  { role: "system", content: "Be brief." },
  { role: "user", content: 'Quote "this" and a tab\there, a newline\nand </response_a> too: é ✓' },
];
const signal = new AbortController().signal;
const candidate = (index: number, text: string): Candidate => ({ index, text, message: { role: "assistant", content: text }, finish_reason: "stop", duplicates: [] });
const a = candidate(0, 'First answer with "quotes" and \\ backslash');
const b = candidate(1, "Second answer\u2028with a line separator");

describe("judge request bodies", () => {
  it("send a pairwise comparison as its prompt, sampling settings and answer schema", async () => {
    const { judge, bodies } = recordingJudge({}, '{"reasoning": "r", "winner": "A"}');
    const memo = new Map(); // one request's: the second call reuses the parts the first one escaped
    await judge.comparePair({ conversation, a, b }, signal, { memo });
    await judge.comparePair({ conversation, a: b, b: a }, signal, { memo });
    expect(bodies[0]).toEqual({
      model: SETTINGS.model,
      messages: pairwiseMessages(conversation, a.text, b.text),
      temperature: 0,
      max_tokens: 512,
      response_format: PAIRWISE_RESPONSE_FORMAT,
    });
    expect(bodies[1]).toEqual({ ...(bodies[0] as object), messages: pairwiseMessages(conversation, b.text, a.text) });
    // Another request, another memo: nothing of the first one's is shown.
    const other = candidate(2, "A third answer");
    await judge.comparePair({ conversation: [{ role: "user", content: "Another question" }], a: other, b }, signal, { memo: new Map() });
    expect((bodies[2] as { messages: unknown }).messages).toEqual(pairwiseMessages([{ role: "user", content: "Another question" }], other.text, b.text));
  });

  it("send a rematch with its own temperature and seed, and logprobs when asked for", async () => {
    const { judge, bodies } = recordingJudge({ logprobs: true }, '{"reasoning": "r", "winner": "B"}');
    await judge.comparePair({ conversation, a, b, attempt: 2 }, signal);
    expect(bodies[0]).toEqual({
      model: SETTINGS.model,
      messages: pairwiseMessages(conversation, a.text, b.text),
      temperature: 0.7,
      max_tokens: 512,
      logprobs: true,
      top_logprobs: 5,
      seed: 2,
      response_format: PAIRWISE_RESPONSE_FORMAT,
    });
  });

  it("leave the answer schema out without structured output", async () => {
    const { judge, bodies } = recordingJudge({ structured_output: false }, '{"reasoning": "r", "winner": "tie"}');
    await judge.comparePair({ conversation, a, b }, signal);
    expect(bodies[0]).toEqual({ model: SETTINGS.model, messages: pairwiseMessages(conversation, a.text, b.text), temperature: 0, max_tokens: 512 });
  });

  it("send each rubric scale its own system prompt and schema", async () => {
    const { judge, bodies } = recordingJudge({}, '{"justification": "j", "score": 3}');
    for (const scale of [5, 10, 5]) await judge.scoreRubric({ conversation, rubric: "Be right.", scale, candidate: a }, signal);
    expect(bodies.map((body) => (body as { response_format: unknown }).response_format)).toEqual([5, 10, 5].map(rubricResponseFormat));
    expect(bodies.map((body) => (body as { messages: unknown }).messages)).toEqual(
      [5, 10, 5].map((scale) => rubricMessages(conversation, "Be right.", a.text, scale)),
    );
  });

  it("send a deployment's own grounding prompt", async () => {
    const input = { question: "Q?", documents: ["Doc one.", "Doc two."], answer: "A." };
    const custom = recordingJudge({ grounding_prompt: "Check it.\nStrictly." }, '{"REASONING": "r", "VERDICT": "PASS"}');
    const standard = recordingJudge({}, '{"REASONING": "r", "VERDICT": "PASS"}');
    await custom.judge.checkGrounding(input, signal);
    await standard.judge.checkGrounding(input, signal);
    const expected = (system: string) => ({
      model: SETTINGS.model,
      messages: groundingMessages(input, system),
      temperature: 0,
      max_tokens: 512,
      response_format: GROUNDING_RESPONSE_FORMAT,
    });
    expect(custom.bodies[0]).toEqual(expected("Check it.\nStrictly."));
    expect(standard.bodies[0]).toEqual(expected(GROUNDING_SYSTEM));
  });
});
