// Size limits, content types and wrong types: refused with the status and `param` a client can act on.
import { describe, expect, it } from "vitest";
import { chatBody, harness, postChat } from "../helpers";

async function expectError(response: Response, status: number, param: string | null, code?: string) {
  expect(response.status).toBe(status);
  const body = await response.json();
  expect(body).toEqual({ error: { message: expect.any(String), type: expect.any(String), param, code: body.error.code ?? null } });
  if (code) expect(body.error.code).toBe(code);
  return body.error;
}

const post = (app: ReturnType<typeof harness>["app"], body: string, contentType: string) =>
  app.request("/v1/chat/completions", { method: "POST", headers: { "content-type": contentType }, body });

describe("limits", () => {
  const { app, sim } = harness({ config: { server: { body_limit_bytes: 2_048 }, limits: { max_messages: 3, max_chars: 500 } } });

  it("answers 413 to a body over server.body_limit_bytes", async () => {
    const big = chatBody({ padding: "x".repeat(3_000) });
    await expectError(await postChat(app, big), 413, null, "body_too_large");
  });

  it("answers 413 from a declared Content-Length over the limit, and accepts one within it", async () => {
    const big = JSON.stringify(chatBody({ padding: "x".repeat(3_000) }));
    const declared = (target: typeof app, body: string) =>
      target.request("/v1/chat/completions", { method: "POST", headers: { "content-type": "application/json", "content-length": String(Buffer.byteLength(body)) }, body });
    await expectError(await declared(app, big), 413, null, "body_too_large");
    const { app: roomy } = harness({ config: { server: { body_limit_bytes: 2_048 } } });
    expect((await declared(roomy, JSON.stringify(chatBody({ verdict: { n: 1 } })))).status).toBe(200);
  });

  it("defaults the body limit to 4 MiB", async () => {
    const { app: defaults } = harness();
    const big = chatBody({ padding: "x".repeat(4 * 1024 * 1024) });
    await expectError(await postChat(defaults, big), 413, null, "body_too_large");
  });

  it("refuses more messages than limits.max_messages", async () => {
    const messages = Array.from({ length: 4 }, (_, i) => ({ role: "user", content: `m${i}` }));
    const error = await expectError(await postChat(app, chatBody({ messages })), 400, "messages", "too_many_messages");
    expect(error.message).toMatch(/at most 3/);
  });

  it("holds a request passed through only to the message count: its `n` and its length are the upstream's to bound", async () => {
    const { app: own, sim: upstream } = harness({ config: { limits: { max_messages: 3, max_chars: 500 } } });
    const long = [{ role: "user", content: "z".repeat(600) }];
    for (const verdict of [{ n: 1 }, { strategy: "none" }]) {
      expect((await postChat(own, chatBody({ messages: long, verdict }))).status).toBe(200);
      expect((await postChat(own, chatBody({ n: 20, verdict }))).status).toBe(200);
    }
    expect(upstream.count("generator")).toBe(4);
    // Reranked, both are verdict's to bound.
    await expectError(await postChat(own, chatBody({ messages: long, verdict: { n: 2 } })), 400, "messages", "conversation_too_long");
    await expectError(await postChat(own, chatBody({ n: 20, verdict: { n: 2 } })), 400, "n");
  });

  it("refuses a conversation longer than limits.max_chars, counting text parts and tool arguments", async () => {
    const long = [{ role: "user", content: [{ type: "text", text: "y".repeat(300) }] }, { role: "user", content: "z".repeat(201) }];
    await expectError(await postChat(app, chatBody({ messages: long })), 400, "messages", "conversation_too_long");
    const tools = [
      { role: "user", content: "q" },
      { role: "assistant", content: null, tool_calls: [{ id: "t", type: "function", function: { name: "f", arguments: "a".repeat(600) } }] },
    ];
    await expectError(await postChat(app, chatBody({ messages: tools })), 400, "messages", "conversation_too_long");
    // Everything else the judge reads of a message counts too: its author's name and every kind of call.
    const big = "b".repeat(600);
    for (const assistant of [
      { role: "assistant", content: null, function_call: { name: "f", arguments: big } },
      { role: "assistant", content: null, tool_calls: [{ id: "t", type: "custom", custom: { name: "sql", input: big } }] },
      { role: "assistant", content: null, tool_calls: [{ id: "t", type: "function", function: { name: big, arguments: "{}" } }] },
      { role: "assistant", content: "ok", name: big },
      { role: "assistant", content: null, refusal: big },
    ]) {
      await expectError(await postChat(app, chatBody({ messages: [{ role: "user", content: "q" }, assistant] })), 400, "messages", "conversation_too_long");
    }
  });

  it("counts a guard's verdict.context toward limits.max_chars with the conversation: the judge reads both per candidate", async () => {
    const guarded = (context: string | string[], content = "q") =>
      postChat(app, chatBody({ messages: [{ role: "user", content }], verdict: { strategy: "guard", n: 2, context } }));
    await expectError(await guarded("d".repeat(501)), 400, "verdict.context", "conversation_too_long");
    await expectError(await guarded(["d".repeat(300), "e".repeat(150)], "q".repeat(60)), 400, "verdict.context", "conversation_too_long");
  });

  it("applies limits to pass-through requests too", async () => {
    const messages = Array.from({ length: 4 }, () => ({ role: "user", content: "m" }));
    await expectError(await postChat(app, chatBody({ messages, verdict: { n: 1 } })), 400, "messages");
  });

  it("never called the upstream for any of these", () => expect(sim.requests).toHaveLength(0));
});

describe("content types and wrong types", () => {
  const { app, sim } = harness();

  it("refuses multipart/form-data and names content-type", async () => {
    const form = new FormData();
    form.set("model", "m");
    const response = await app.request("/v1/chat/completions", { method: "POST", body: form });
    await expectError(response, 400, "content-type", "unsupported_content_type");
  });

  it("refuses non-JSON text/plain and form-urlencoded bodies, naming content-type", async () => {
    await expectError(await post(app, "model=m&messages=hi", "application/x-www-form-urlencoded"), 400, "content-type");
    await expectError(await post(app, "hello there", "text/plain"), 400, "content-type");
  });

  it("accepts a JSON body sent with a generic content type (curl -d sends form-urlencoded)", async () => {
    const response = await post(app, JSON.stringify(chatBody({ verdict: { n: 2 } })), "application/x-www-form-urlencoded");
    expect(response.status).toBe(200);
  });

  it("calls malformed JSON sent as JSON invalid_json", async () => {
    await expectError(await post(app, '{"model": "m", ', "application/json; charset=utf-8"), 400, null, "invalid_json");
  });

  it.each([
    ["messages", { messages: "hello" }],
    ["model", { model: 42 }],
    ["n", { n: "2" }],
    ["stream", { stream: "yes" }],
    ["seed", { seed: 1.5 }],
    ["messages[0].content", { messages: [{ role: "user", content: 7 }] }],
    ["verdict.n", { verdict: { n: "4" } }],
    ["verdict.cache", { verdict: { cache: "no" } }],
    ["verdict.strategy", { verdict: { strategy: "best" } }],
  ])("names %s when its type is wrong", async (param, extra) => {
    await expectError(await postChat(app, chatBody(extra)), 400, param);
  });

  it("called the upstream only for the one accepted body", () => expect(sim.count("generator")).toBe(1));
});

describe("bodies that are not UTF-8", () => {
  const { app, sim } = harness();

  it("calls JSON whose bytes are not UTF-8 invalid_json rather than send the client's text on changed, on both routes", async () => {
    const latin1 = (text: string) => Uint8Array.from(text, (char) => char.charCodeAt(0)); // "é" as one byte, 0xe9
    const chat = latin1(JSON.stringify(chatBody({ messages: [{ role: "user", content: "café" }], verdict: { n: 2 } })));
    const responses = latin1(JSON.stringify({ model: "m", input: "café", verdict: { n: 2 } }));
    const seen = sim.requests.length;
    for (const [path, body] of [["/v1/chat/completions", chat], ["/v1/responses", responses]] as const) {
      const refused = await app.request(path, { method: "POST", headers: { "content-type": "application/json" }, body });
      expect((await expectError(refused, 400, null, "invalid_json")).message).toMatch(/UTF-8/);
    }
    expect(sim.requests.length).toBe(seen);
    // Still refused for what it is first: bytes that are not JSON either are named by their content type.
    await expectError(await app.request("/v1/chat/completions", { method: "POST", headers: { "content-type": "text/plain" }, body: latin1("café") }), 400, "content-type");
    // The character U+FFFD itself, sent as UTF-8, is the client's text and goes on.
    const replacement = await post(app, JSON.stringify(chatBody({ messages: [{ role: "user", content: "a \uFFFD b" }], verdict: { n: 2 } })), "application/json");
    expect(replacement.status).toBe(200);
  });
});
