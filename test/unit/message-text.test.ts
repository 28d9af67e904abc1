// What a judge reads of a message: every kind of part and field that carries what was said shows, and a part it
// cannot read is named rather than dropped.
import { describe, expect, it } from "vitest";
import { contentText, messageText, withoutInlineReasoning } from "../../src/openai/chat";

describe("a message as the judge reads it", () => {
  it("shows an earlier turn's refusal part with its words, and names parts without text", () => {
    const parts = [{ type: "text", text: "Here is part of it." }, { type: "refusal", refusal: "I won't write the rest." }, { type: "image_url", image_url: { url: "x" } }];
    expect(contentText(parts)).toBe("Here is part of it.\n[refusal] I won't write the rest.\n[image_url]");
    expect(contentText(parts, false)).toBe("Here is part of it."); // the answer's own text, as a user reads it
  });

  it("reads a spoken answer's transcript, and marks an earlier spoken turn sent back by its id alone", () => {
    expect(messageText({ role: "assistant", content: null, audio: { id: "a1", data: "…", transcript: "It is blue." } })).toBe("It is blue.");
    expect(messageText({ role: "assistant", audio: { id: "a1" } })).toBe("[audio]");
    expect(messageText({ role: "assistant", content: "Blue.", audio: null })).toBe("Blue.");
  });
});

describe("withoutInlineReasoning", () => {
  it.each([
    ["<think>Let me count.</think>\n\nThere are 15.", "There are 15."],
    ["  <think>a</think>15", "15"],
    // A closing tag alone may be the answer's own words: the text is left as it is.
    ["Counting by threes...</think>\nThere are 15.", "Counting by threes...</think>\nThere are 15."],
    ["Paris is the capital. Models end their thoughts with </think> in raw output.", "Paris is the capital. Models end their thoughts with </think> in raw output."],
    // Cut off while still reasoning: no answer yet.
    ["<think>Counting by threes, 3, 6, 9", ""],
    ["<think>the answer is 15</think>", ""],
    // Tags the answer itself writes about, after words of its own, stay.
    ["Wrap it in <think> and </think> tags.", "Wrap it in <think> and </think> tags."],
    ["There are 15.", "There are 15."],
  ])("reads %j as %j", (text, answer) => {
    expect(withoutInlineReasoning(text)).toBe(answer);
  });

  it.each([
    // The template opened the block: everything up to the first closing tag is reasoning.
    ["Counting by threes, 3, 6, 9, 12, 15.</think>\n\nThere are 15.", "There are 15."],
    ["<think>a</think>15", "15"],
    // No closing tag: thinking was off for this request (the template closed an empty block), so it is all answer.
    ["There are 15.", "There are 15."],
    ["<think>Counting by threes", ""],
  ])("reads %j as %j when the chat template opens the block", (text, answer) => {
    expect(withoutInlineReasoning(text, "opened_by_template")).toBe(answer);
  });

  it("leaves every text whole when off", () => {
    expect(withoutInlineReasoning("<think>a</think>15", "off")).toBe("<think>a</think>15");
  });
});
