// The Responses request's field names for the chat request it becomes, for errors that must name what the client sent.
import { describe, expect, it } from "vitest";
import { responsesParamOf } from "../../src/openai/responses";

describe("responsesParamOf", () => {
  it.each([
    ["max_completion_tokens", "max_output_tokens"],
    ["messages[1].content", "input"],
    ["response_format", "text.format"],
    ["response_format.json_schema.schema", "text.format"],
    ["reasoning_effort", "reasoning.effort"],
    ["temperature", "temperature"],
    ["verdict.n", "verdict.n"],
    [null, null],
  ])("names %j as %j", (chat, responses) => {
    expect(responsesParamOf(chat)).toBe(responses);
  });
});
