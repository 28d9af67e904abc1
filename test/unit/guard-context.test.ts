// Where a guarded request's documents are found in its messages, tags with attributes included.
import { describe, expect, it } from "vitest";
import { documentsFromMessages, questionOf } from "../../strategies/guard-context";

const sources = ["tags", "system", "tool"] as const;

describe("documents in the messages", () => {
  it("finds tagged documents whatever attributes their tags carry, before the system prompt", () => {
    const messages = [
      { role: "system", content: "You are a helpful bot." },
      { role: "user", content: '<document id="1">Arthur\'s Magazine began in 1844.</document>\n<context source="kb">First for Women began in 1989.</context >\nWhich came first?' },
    ];
    expect(documentsFromMessages(messages, [...sources])).toEqual(["Arthur's Magazine began in 1844.", "First for Women began in 1989."]);
    expect(questionOf(messages)).toBe("Which came first?");
  });

  it("takes no document from the model's own earlier turns, tags or not, and finds the tool results instead", () => {
    const messages = [
      { role: "system", content: "Use the docs." },
      { role: "user", content: "Tell me about France." },
      { role: "assistant", content: "Here is what I recall: <document>France's capital is Lyon.</document>" },
      { role: "tool", content: "Paris is the capital of France." },
      { role: "user", content: "So what is the capital?" },
    ];
    expect(documentsFromMessages(messages, [...sources])).toEqual(["Use the docs.", "Paris is the capital of France."]);
  });

  it("takes a tag closed by another name for no document", () => {
    const messages = [{ role: "system", content: "The system's documents." }, { role: "user", content: "<document id=1>unclosed</context> Why?" }];
    expect(documentsFromMessages(messages, [...sources])).toEqual(["The system's documents."]);
  });

  it("reads tags in any case, one name closing only its own, and a closing tag with spaces", () => {
    const text = "<DOCUMENTS>all of it</Documents ><document>one</documents> two</document><context>three</context>Why?";
    const messages = [{ role: "user", content: text }];
    expect(documentsFromMessages(messages, [...sources])).toEqual(["all of it", "one</documents> two", "three"]);
    expect(questionOf(messages)).toBe("Why?");
  });

  it("gives the question with the earlier turns it depends on, documents and system and tool messages left out", () => {
    const messages = [
      { role: "system", content: "Bridges: the Golden Gate opened in 1937, the Bay Bridge in 1936." },
      { role: "user", content: "When did the Golden Gate open?" },
      { role: "assistant", content: "1937." },
      { role: "tool", content: "a search result" },
      { role: "user", content: "<document>notes</document>And the other one?" },
    ];
    expect(questionOf(messages)).toBe(
      "Earlier in the conversation:\n[user] When did the Golden Gate open?\n[assistant] 1937.\n\nThe question now:\nAnd the other one?",
    );
    expect(questionOf(messages.slice(0, 2))).toBe("When did the Golden Gate open?");
  });

  it("marks the parts of a question the judge cannot read, instead of showing it a question that seems complete", () => {
    const chart = [{ type: "text", text: "What does this chart show?" }, { type: "image_url", image_url: { url: "https://example.com/c.png" } }];
    expect(questionOf([{ role: "user", content: chart }])).toBe("What does this chart show?\n[image_url]");
    const imageOnly = [{ role: "system", content: "<documents>The chart shows 42.</documents>" }, { role: "user", content: [chart[1]!] }];
    expect(questionOf(imageOnly)).toBe("[image_url]");
  });

  it("keeps an earlier assistant turn that only called a tool or declined, as what the question now may refer to", () => {
    const messages = [
      { role: "user", content: "Look it up." },
      { role: "assistant", content: null, tool_calls: [{ id: "c1", type: "function", function: { name: "search", arguments: '{"q":"bridges"}' } }] },
      { role: "tool", tool_call_id: "c1", content: "The Golden Gate opened in 1937." },
      { role: "assistant", content: null, refusal: "I can't give the toll." },
      { role: "assistant", content: null, audio: { id: "audio_1", transcript: "The Golden Gate, I mean." } },
      { role: "user", content: "When did it open?" },
    ];
    expect(questionOf(messages)).toBe(
      'Earlier in the conversation:\n[user] Look it up.\n[assistant] [tool call] search({"q":"bridges"})\n[assistant] I can\'t give the toll.\n' +
        "[assistant] The Golden Gate, I mean.\n\nThe question now:\nWhen did it open?",
    );
  });

  it("reads a text of many tags that never close in time that grows with its length, not its square", () => {
    for (const filler of ["<document ", "<document>", "<context x=1>"]) {
      const messages = [{ role: "system", content: "The system's documents." }, { role: "user", content: `${filler.repeat(80_000)}Why?` }];
      const started = performance.now();
      expect(documentsFromMessages(messages, [...sources])).toEqual(["The system's documents."]);
      questionOf(messages);
      // 800 KB of these took the regular expression 115 s; a linear reading takes milliseconds.
      expect(performance.now() - started).toBeLessThan(1_000);
    }
  });
});
