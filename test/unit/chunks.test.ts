// The replay of a finished completion as chunks must join back to exactly the original message.
import { ChatCompletionStream } from "openai/lib/ChatCompletionStream";
import { describe, expect, it } from "vitest";
import { replayChunks, splitText, type ReplayCompletion } from "../../src/openai/chunks";

/** What the openai SDK's stream helper assembles from the replay (it reads chunks as JSON lines). */
async function assembledBySdk(completion: ReplayCompletion) {
  const lines = replayChunks(completion, false).map((chunk) => `${JSON.stringify(chunk)}\n`).join("");
  const stream = ChatCompletionStream.fromReadableStream(new Response(lines).body!);
  return (await stream.finalChatCompletion()).choices[0]!.message as unknown as Record<string, unknown>;
}

const base = { id: "c1", created: 1, model: "m", usage: { total_tokens: 3 } };
type Any = Record<string, any>;

describe("replayChunks", () => {
  it("splits text at word boundaries without losing a character", () => {
    const text = "A fairly long sentence, with punctuation — and a verylongwordthatcannotbesplitnicely at all.";
    const pieces = splitText(text, 10);
    expect(pieces.length).toBeGreaterThan(4);
    expect(pieces.join("")).toBe(text);
    expect(splitText("")).toEqual([""]);
  });

  it("replays a long answer in a few dozen chunks, not one per few words", () => {
    const content = "All work and no play makes a long answer. ".repeat(25_000); // about 1 MB
    const args = JSON.stringify({ rows: Array.from({ length: 20_000 }, (_, i) => i) });
    const message = { role: "assistant", content, tool_calls: [{ id: "t", type: "function", function: { name: "f", arguments: args } }] };
    const chunks = replayChunks({ ...base, choices: [{ index: 0, message, logprobs: null, finish_reason: "stop" }] }, false) as Any[];
    const deltas = chunks.map((c) => c.choices[0].delta);
    expect(deltas.filter((d) => typeof d.content === "string" && d.content !== "").map((d) => d.content).join("")).toBe(content);
    expect(chunks.length).toBeLessThan(80);
    // The SSE it makes is about the answer's own size, not many times it.
    expect(chunks.reduce((bytes, c) => bytes + JSON.stringify(c).length, 0)).toBeLessThan(1.1 * (content.length + args.length));
  });

  it("sends service_tier on every chunk and the completion's other fields once, on the first", () => {
    const promptLogprobs = Array.from({ length: 2_000 }, (_, i) => ({ [i]: { logprob: -1.5, rank: 1, decoded_token: "tok" } }));
    const message = { role: "assistant", content: "A long answer. ".repeat(100) };
    const completion = { ...base, service_tier: "default", prompt_logprobs: promptLogprobs, kv_transfer_params: { id: "kv-1" }, choices: [{ index: 0, message, logprobs: null, finish_reason: "stop" }] };
    const chunks = replayChunks(completion, true) as Any[];
    expect(chunks.length).toBeGreaterThan(3);
    expect(chunks.every((c) => c.service_tier === "default")).toBe(true);
    expect(chunks[0]).toMatchObject({ prompt_logprobs: promptLogprobs, kv_transfer_params: { id: "kv-1" } });
    expect(chunks.slice(1).some((c) => "prompt_logprobs" in c || "kv_transfer_params" in c)).toBe(false);
  });

  it("never cuts an emoji in half: each piece is whole text on its own", () => {
    const lonelyHalf = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
    for (const text of [`a${"😀".repeat(32)}`, '{"city":"東京🗼🗼🗼🗼🗼🗼🗼🗼"}']) {
      for (const size of [16, 24]) {
        const pieces = splitText(text, size);
        expect(pieces.join("")).toBe(text);
        for (const piece of pieces) expect(piece).not.toMatch(lonelyHalf);
      }
    }
  });

  it("streams several tool calls with index, id and name first, then argument pieces", () => {
    const calls = [
      { id: "call_a", type: "function", function: { name: "get_weather", arguments: '{"city":"Lima","unit":"c","days":3}' } },
      { id: "call_b", type: "function", function: { name: "search", arguments: '{"query":"sky colour physics"}' } },
    ];
    const completion: ReplayCompletion = {
      ...base,
      choices: [{ index: 0, message: { role: "assistant", content: null, tool_calls: calls }, logprobs: null, finish_reason: "tool_calls" }],
      verdict: { winner: 0 },
    };
    const chunks = replayChunks(completion, false) as Any[];
    const deltas = chunks.map((c) => c.choices[0].delta);
    expect(deltas[0]).toMatchObject({ role: "assistant", content: null });
    const rebuilt: Any[] = [];
    for (const d of deltas.flatMap((d) => d.tool_calls ?? [])) {
      if (d.id) rebuilt[d.index] = { id: d.id, type: d.type, function: { name: d.function.name, arguments: "" } };
      else expect(d).not.toHaveProperty("function.name");
      rebuilt[d.index]!.function.arguments += d.function.arguments;
    }
    expect(rebuilt).toEqual(calls);
    expect(deltas.flatMap((d) => d.tool_calls ?? []).length).toBeGreaterThan(4);
    expect(chunks.at(-1)).toMatchObject({ choices: [{ finish_reason: "tool_calls" }], verdict: { winner: 0 } });
  });

  it("streams a refusal as refusal deltas", () => {
    const completion: ReplayCompletion = {
      ...base,
      choices: [{ index: 0, message: { role: "assistant", content: null, refusal: "I can't help with that request, sorry." }, logprobs: null, finish_reason: "stop" }],
    };
    const deltas = replayChunks(completion, true).map((c) => (c.choices as Any[])[0]?.delta);
    expect(deltas.map((d) => d?.refusal ?? "").join("")).toBe("I can't help with that request, sorry.");
    expect(deltas.at(-1)).toBeUndefined(); // the usage chunk has no choices
  });

  it("streams a refusal's logprobs with its deltas, as content's are, so the SDK assembles the same logprobs", async () => {
    const token = (t: string) => ({ token: t, logprob: -0.1, bytes: null, top_logprobs: [] });
    for (const tokens of [["I can", "'t", " help", " with", " that", "."], ["I", " cannot"]]) {
      const logprobs = { content: null, refusal: tokens.map(token) };
      const completion: ReplayCompletion = { ...base, choices: [{ index: 0, message: { role: "assistant", content: null, refusal: "I can't help with that." }, logprobs, finish_reason: "stop" }] };
      const lines = replayChunks(completion, false).map((chunk) => `${JSON.stringify(chunk)}\n`).join("");
      const stream = ChatCompletionStream.fromReadableStream(new Response(lines).body!);
      const choice = (await stream.finalChatCompletion()).choices[0]!;
      expect(choice.message.refusal).toBe("I can't help with that.");
      expect(choice.logprobs?.refusal).toEqual(logprobs.refusal); // spelled exactly (grouped) or not (carried whole)
    }
  });

  it("carries every other message field, so the SDK's stream helper assembles the message returned", async () => {
    const message = {
      role: "assistant",
      content: "See the source for details.",
      refusal: null,
      annotations: [{ type: "url_citation", url_citation: { url: "https://example.org", title: "x", start_index: 0, end_index: 3 } }],
      reasoning_content: "The user wants a source.",
    };
    const assembled = await assembledBySdk({ ...base, choices: [{ index: 0, message, logprobs: null, finish_reason: "stop" }] });
    expect(assembled).toMatchObject(message);
  });

  it("streams a custom tool call whole, with its name and input", () => {
    // openai-node's stream helper cannot finish a custom call (it insists on function.name), so the deltas are read here.
    const call = { id: "call_1", type: "custom", custom: { name: "run_sql", input: "SELECT count(*) FROM orders WHERE day = today()" } };
    const message = { role: "assistant", content: null, refusal: null, tool_calls: [call] };
    const deltas = replayChunks({ ...base, choices: [{ index: 0, message, logprobs: null, finish_reason: "tool_calls" }] }, false).map(
      (c) => (c.choices as Any[])[0]!.delta,
    );
    expect(deltas.flatMap((d) => d.tool_calls ?? [])).toEqual([{ index: 0, ...call }]);
  });
});
