// Bad requests are 400s in OpenAI's error shape that name the parameter to fix; never a 500.
import { describe, expect, it } from "vitest";
import { parseJsonBody } from "../../src/limits";
import { chatBody, harness, postChat } from "../helpers";

async function expectError(response: Response, status: number, param: string | null) {
  expect(response.status).toBe(status);
  expect(response.headers.get("content-type")).toMatch(/application\/json/);
  const body = await response.json();
  expect(body).toEqual({ error: { message: expect.any(String), type: expect.any(String), param, code: body.error.code ?? null } });
  expect(body.error.message.length).toBeGreaterThan(5);
  return body.error;
}

describe("bad input", () => {
  const { app, sim } = harness();

  it("refuses a body that is not JSON", async () => {
    const error = await expectError(await postChat(app, "{not json"), 400, null);
    expect(error.code).toBe("invalid_json");
  });

  it("refuses a number too large for a double, which would reach the generator as null, naming where it is", async () => {
    const tooLarge = '{"model":"sim-generator","messages":[{"role":"user","content":"1e400 in text is fine"}],"max_tokens":1e400,"verdict":{"n":1}}';
    const error = await expectError(await postChat(app, tooLarge), 400, "max_tokens");
    expect(error.code).toBe("invalid_value");
    const digits = `{"model":"sim-generator","messages":[{"role":"user","content":"hi"}],"metadata":{"x":[1,${"9".repeat(400)}]}}`;
    await expectError(await postChat(app, digits), 400, "metadata.x[1]");
    const fine = '{"model":"sim-generator","messages":[{"role":"user","content":"e100 and 1e-400"}],"temperature":1e-400,"verdict":{"n":1}}';
    expect(parseJsonBody(fine, "application/json").temperature).toBe(0);
    // Looking for such numbers is linear: 4 MB of 308-digit runs (each one short of too large) once took seconds.
    const runs = JSON.stringify({ model: "m", messages: [{ role: "user", content: `${"1".repeat(308)}x`.repeat(13_000) }] });
    const started = performance.now();
    parseJsonBody(runs, "application/json");
    expect(performance.now() - started).toBeLessThan(800);
  });

  it("refuses JSON that is not an object", async () => {
    await expectError(await postChat(app, "[1,2]"), 400, null);
  });

  it("names messages when they are missing or empty", async () => {
    const missing = await expectError(await postChat(app, { model: "m" }), 400, "messages");
    expect(missing.message).toMatch(/missing required parameter: messages/);
    await expectError(await postChat(app, { model: "m", messages: [] }), 400, "messages");
  });

  it("names the exact message field that is wrong", async () => {
    await expectError(await postChat(app, { model: "m", messages: [{ role: "wizard", content: "x" }] }), 400, "messages[0].role");
  });

  it("names a tool call that is not an object, on the reranking path and the pass-through alike", async () => {
    const messages = [{ role: "assistant", content: "a", tool_calls: [null] }, { role: "user", content: "q" }];
    await expectError(await postChat(app, chatBody({ messages, verdict: { n: 2 } })), 400, "messages[0].tool_calls[0]");
    await expectError(await postChat(app, chatBody({ messages, verdict: { n: 1 } })), 400, "messages[0].tool_calls[0]");
  });

  it("refuses a body nested deeper than any request needs, on both paths, instead of failing as a 5xx", async () => {
    const deep = (levels: number) => `${"[".repeat(levels)}${"]".repeat(levels)}`;
    for (const n of [1, 2]) {
      const raw = `{"model":"m","messages":[{"role":"user","content":"x"}],"verdict":{"n":${n}},"extra":${deep(5_000)}}`;
      expect((await expectError(await postChat(app, raw), 400, null)).code).toBe("nesting_too_deep");
    }
    // A tool schema a few dozen levels deep is an ordinary request.
    const ordinary = `{"model":"m","messages":[{"role":"user","content":"x"}],"verdict":{"n":1},"metadata_like":${deep(40)}}`;
    expect((await postChat(harness().app, ordinary)).status).toBe(200);
    // Brackets inside strings are text, escaped quotes included.
    const inText = chatBody({ messages: [{ role: "user", content: `say \"${"[{".repeat(1_000)}` }], verdict: { n: 1 } });
    expect((await postChat(harness().app, inText)).status).toBe(200);
  });

  it("refuses a body of more values than any request holds, and a conversation over the limit before its entries are checked", async () => {
    for (const n of [1, 2]) {
      const zeros = `{"model":"m","messages":[${Array(60_000).fill(0).join(",")}],"verdict":{"n":${n}}}`;
      expect((await expectError(await postChat(app, zeros), 400, null)).code).toBe("too_many_values");
      // Under that bound but over limits.max_messages: the count is what to fix, not each wrong entry.
      const many = { model: "m", messages: Array(3_000).fill(0), verdict: { n } };
      expect((await expectError(await postChat(app, many), 400, "messages")).code).toBe("too_many_messages");
    }
    const input = await harness().app.request("/v1/responses", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "m", input: Array(3_000).fill({}) }) });
    expect(input.status).toBe(400);
    expect((await input.json()).error).toMatchObject({ param: "input", code: "too_many_messages" });
    // Commas in text are text; a large list of numbers under the bound is an ordinary request.
    const commas = chatBody({ messages: [{ role: "user", content: ",".repeat(60_000) }], verdict: { n: 1 } });
    expect((await postChat(harness().app, commas)).status).toBe(200);
    const numbers = `{"model":"m","messages":[{"role":"user","content":"x"}],"verdict":{"n":1},"extra":[${Array(40_000).fill(7).join(",")}]}`;
    expect((await postChat(harness().app, numbers)).status).toBe(200);
    // A deployment that allows more messages allows 20 values for each.
    const more = `{"model":"m","messages":[{"role":"user","content":"x"}],"verdict":{"n":1},"extra":[${Array(60_000).fill(7).join(",")}]}`;
    expect((await postChat(harness({ config: { limits: { max_messages: 5_000 } } }).app, more)).status).toBe(200);
  });

  it("names model when it is missing", async () => {
    await expectError(await postChat(app, { messages: [{ role: "user", content: "x" }] }), 400, "model");
  });

  it.each([0, 100, -1])("refuses verdict.n = %s", async (n) => {
    const error = await expectError(await postChat(app, chatBody({ verdict: { n } })), 400, "verdict.n");
    expect(error.message).toMatch(/between 1 and 16/);
  });

  it("refuses a non-integer verdict.n and an unknown strategy", async () => {
    await expectError(await postChat(app, chatBody({ verdict: { n: 2.5 } })), 400, "verdict.n");
    await expectError(await postChat(app, chatBody({ verdict: { strategy: "magic" } })), 400, "verdict.strategy");
  });

  it("refuses unknown verdict options instead of ignoring a typo", async () => {
    await expectError(await postChat(app, chatBody({ verdict: { stratgy: "pairwise" } })), 400, "verdict.stratgy");
    await expectError(await postChat(app, chatBody({ verdict: "four" })), 400, "verdict");
    // Thousands of unknown names: the error names a few and counts the rest instead of echoing them all.
    const typos = Object.fromEntries(Array.from({ length: 2_000 }, (_, i) => [`option${i}`, 1]));
    const many = await expectError(await postChat(app, chatBody({ verdict: typos })), 400, "verdict.option0");
    expect(many.message).toBe("invalid verdict.option0: unknown option option0, option1, option2, option3, option4 and 1995 more");
  });

  it("refuses a blank guard abstention message, which would answer the client with nothing", async () => {
    await expectError(await postChat(app, chatBody({ verdict: { strategy: "guard", context: "d", abstain_message: "   " } })), 400, "verdict.abstain_message");
  });

  it("names the header when x-verdict-n or x-verdict-strategy is bad", async () => {
    await expectError(await postChat(app, chatBody(), { "x-verdict-n": "lots" }), 400, "x-verdict-n");
    await expectError(await postChat(app, chatBody(), { "x-verdict-n": "99" }), 400, "x-verdict-n");
    await expectError(await postChat(app, chatBody(), { "x-verdict-strategy": "magic" }), 400, "x-verdict-strategy");
  });

  it("refuses a client n above the limit", async () => {
    await expectError(await postChat(app, chatBody({ n: 17 })), 400, "n");
  });

  it("checks stream_options as OpenAI does, though a reranked stream never sends it upstream", async () => {
    await expectError(await postChat(app, chatBody({ stream: true, stream_options: 5, verdict: { n: 2 } })), 400, "stream_options");
    await expectError(await postChat(app, chatBody({ stream: true, stream_options: { include_usage: "yes" }, verdict: { n: 2 } })), 400, "stream_options.include_usage");
    const unstreamed = await expectError(await postChat(app, chatBody({ stream_options: { include_usage: true }, verdict: { n: 2 } })), 400, "stream_options");
    expect(unstreamed.message).toMatch(/only allowed when stream is true/);
  });

  it("never reached the upstream for any of these", () => {
    expect(sim.requests).toHaveLength(0);
  });

  it("answers unknown routes with a 404 in the same shape", async () => {
    await expectError(await app.request("/nope"), 404, null);
  });
});
