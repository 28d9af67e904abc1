// The conversation as the judge reads it: every turn, its text parts apart, a refusal as what was said.
import { expect, it } from "vitest";
import { renderConversation } from "../../src/judge/sections";

it("shows an earlier refusal and keeps a message's text parts apart", () => {
  const shown = renderConversation([
    { role: "user", content: [{ type: "text", text: "Look at this:" }, { type: "image_url", image_url: { url: "https://example.test/x.png" } }, { type: "text", text: "what is it?" }] },
    { role: "assistant", content: null, refusal: "I cannot describe people." },
    { role: "user", content: "Why not?" },
  ] as never);
  expect(shown).toBe("[user]\nLook at this:\n[image_url]\nwhat is it?\n\n[assistant]\nI cannot describe people.\n\n[user]\nWhy not?");
});
