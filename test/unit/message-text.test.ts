// What a judge reads of a message: every kind of part and field that carries what was said shows, and a part it
// cannot read is named rather than dropped.
import { describe, expect, it } from "vitest";
import { contentText, messageText } from "../../src/openai/chat";

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
