// Rebuilding streamed choices (generator.stream_sampling) must give the message an unstreamed call would have returned.
import { describe, expect, it } from "vitest";
import { createChunkAssembler } from "../../src/openai/assemble";

const chunk = (delta: Record<string, unknown>, finish_reason: string | null = null) => ({
  id: "c", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta, finish_reason }],
});

function assemble(deltas: Array<[Record<string, unknown>, string?]>) {
  const assembler = createChunkAssembler();
  return deltas.flatMap(([delta, finish]) => assembler.push(chunk(delta, finish ?? null)));
}

describe("chunk assembler", () => {
  it("takes a tool call's name once when a server repeats it in every delta, and gives null content with tool calls", () => {
    const [choice] = assemble([
      [{ role: "assistant", content: "" }],
      [{ tool_calls: [{ index: 0, id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"city":' } }] }],
      [{ tool_calls: [{ index: 0, function: { name: "get_weather", arguments: '"Lima"}' } }] }],
      [{}, "tool_calls"],
    ]);
    expect(choice!.message).toEqual({
      role: "assistant",
      content: null,
      refusal: null,
      tool_calls: [{ id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Lima"}' } }],
    });
  });

  it("keeps other message fields (reasoning text joined) and custom tool calls as they came", () => {
    const custom = { id: "call_2", type: "custom", custom: { name: "run_sql", input: "SELECT 1" } };
    const [choice] = assemble([
      [{ role: "assistant", content: "", reasoning_content: "The user " }],
      [{ reasoning_content: "wants a count." }],
      [{ tool_calls: [{ index: 0, ...custom }] }],
      [{}, "tool_calls"],
    ]);
    expect(choice!.message).toEqual({ role: "assistant", content: null, refusal: null, reasoning_content: "The user wants a count.", tool_calls: [custom] });
  });

  it("keeps a refusal's logprobs, as an unstreamed answer has them", () => {
    const token = (t: string) => ({ token: t, logprob: -0.2, bytes: null, top_logprobs: [] });
    const assembler = createChunkAssembler();
    const withLogprobs = (delta: Record<string, unknown>, refusal: string[] | null, finish_reason: string | null = null) => ({
      ...chunk(delta, finish_reason),
      choices: [{ index: 0, delta, logprobs: refusal ? { content: null, refusal: refusal.map(token) } : null, finish_reason }],
    });
    assembler.push(withLogprobs({ role: "assistant", content: "" }, null));
    assembler.push(withLogprobs({ refusal: "I can't" }, ["I", " can't"]));
    assembler.push(withLogprobs({ refusal: " help." }, [" help."]));
    const [choice] = assembler.push(withLogprobs({}, null, "stop"));
    expect(choice!.message).toMatchObject({ content: null, refusal: "I can't help." });
    expect(choice!.logprobs).toEqual({ content: null, refusal: ["I", " can't", " help."].map(token) });
  });

  it("keeps an empty answer with no tool calls as empty text", () => {
    const [choice] = assemble([[{ role: "assistant", content: "" }], [{}, "stop"]]);
    expect(choice!.message.content).toBe("");
  });

  it("never lets a later null erase reasoning text, and merges audio and a legacy function_call piece by piece", () => {
    const [choice] = assemble([
      [{ role: "assistant", content: "", reasoning_content: "Let me think " }],
      [{ reasoning_content: "hard." }],
      [{ content: "42", reasoning_content: null, audio: { id: "a1", data: "AAAA", transcript: "forty" } }],
      [{ audio: { data: "BBBB", transcript: "-two" }, function_call: { name: "lookup", arguments: '{"q":' } }],
      [{ function_call: { arguments: '"Paris"}' } }],
      [{}, "stop"],
    ]);
    expect(choice!.message).toMatchObject({
      content: "42",
      reasoning_content: "Let me think hard.",
      audio: { id: "a1", data: "AAAABBBB", transcript: "forty-two" },
      function_call: { name: "lookup", arguments: '{"q":"Paris"}' },
    });
  });
});
