// The Responses request's field names for the chat request it becomes, for errors that must name what the client sent.
import { describe, expect, it } from "vitest";
import { responsesParamOf } from "../../src/openai/responses";

describe("responsesParamOf", () => {
  it.each([
    ["max_completion_tokens", "max_output_tokens"],
    ["messages[1].content", "input[1].content"],
    ["response_format", "text.format"],
    ["response_format.type", "text.format.type"],
    ["response_format.json_schema", "text.format"],
    ["response_format.json_schema.name", "text.format.name"],
    ["response_format.json_schema.schema", "text.format.schema"],
    ["reasoning_effort", "reasoning.effort"],
    ["temperature", "temperature"],
    ["verdict.n", "verdict.n"],
    [null, null],
  ])("names %j as %j", (chat, responses) => {
    expect(responsesParamOf(chat)).toBe(responses);
  });

  it("names the input item a message came from, after the instructions' message", () => {
    const items = { instructions: true, textInput: false };
    expect(responsesParamOf("messages[0].content", items)).toBe("instructions");
    expect(responsesParamOf("messages[2].content", items)).toBe("input[1].content");
    expect(responsesParamOf("messages", items)).toBe("input");
    expect(responsesParamOf("messages[1].content", { instructions: true, textInput: true })).toBe("input");
    expect(responsesParamOf("messages[0]", { instructions: false, textInput: true })).toBe("input");
  });
});
