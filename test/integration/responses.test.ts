// /v1/responses through the openai SDK: text requests reranked into Response objects (and Responses events when
// streamed); n = 1 and requests beyond text go to the generator unchanged.
import { describe, expect, it } from "vitest";
import { createSSEDecoder } from "../../src/openai/sse";
import { createSimulator } from "../sim/server";
import { bodyText, fetchInto, harness } from "../helpers";

type Any = Record<string, any>;
const verdictOf = (response: unknown) => (response as { verdict: Any }).verdict;
const post = (app: ReturnType<typeof harness>["app"], body: unknown, headers: Record<string, string> = {}) =>
  app.request("/v1/responses", { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });

describe("/v1/responses", () => {
  it("reranks a text request and answers a Response object with the winner and the verdict", async () => {
    const { client, sim } = harness();
    const response = await client.responses.create({
      model: "sim-generator",
      instructions: "Answer in one paragraph.",
      input: [
        { role: "user", content: "Name a colour." },
        { role: "assistant", content: [{ type: "output_text", text: "Blue." }] },
        { role: "user", content: [{ type: "input_text", text: "Why is the sky that colour?" }] },
      ],
      max_output_tokens: 500,
      verdict: { n: 3, return_candidates: true },
    } as never);
    const verdict = verdictOf(response);
    expect(response).toMatchObject({ object: "response", status: "completed", error: null, model: "sim-generator" });
    expect(response.id).toMatch(/^resp_/);
    const message = response.output[0] as Any;
    expect(message).toMatchObject({ type: "message", role: "assistant", status: "completed" });
    expect(message.content).toEqual([{ type: "output_text", text: verdict.candidates[verdict.winner].message.content, annotations: [], logprobs: [] }]);
    expect(response.output_text).toBe(message.content[0].text); // the SDK derives it; verdict does not send it
    expect(response.usage).toMatchObject({ total_tokens: verdict.usage.generator.total_tokens + verdict.usage.judge.total_tokens });
    expect(verdict.n_candidates).toBe(3);
    const sent = sim.requests.find((r) => r.role === "generator")!.body;
    expect(sent).toMatchObject({
      model: "sim-generator",
      n: 3,
      max_completion_tokens: 500,
      messages: [
        { role: "system", content: "Answer in one paragraph." },
        { role: "user", content: "Name a colour." },
        { role: "assistant", content: "Blue." },
        { role: "user", content: "Why is the sky that colour?" },
      ],
    });
  });

  it("echoes the settings the request gave, as OpenAI's Response object does", async () => {
    const { client } = harness();
    const given = await client.responses.create({ model: "sim-generator", input: "hi", truncation: "auto", parallel_tool_calls: false, text: { verbosity: "low" }, verdict: { n: 2 } } as never);
    expect(given).toMatchObject({ truncation: "auto", parallel_tool_calls: false, text: { format: { type: "text" }, verbosity: "low" } });
    const plain = await client.responses.create({ model: "sim-generator", input: "hi", verdict: { n: 2 } } as never);
    expect(plain).toMatchObject({ truncation: "disabled", parallel_tool_calls: true, text: { format: { type: "text" } } });
  });

  it("streams the standard event sequence, numbered, with the text in deltas and the verdict on response.completed", async () => {
    const { client } = harness();
    const stream = await client.responses.create({ model: "sim-generator", input: "Why is the sky blue?", stream: true, verdict: { n: 3 } } as never);
    const events: Any[] = [];
    for await (const event of stream as unknown as AsyncIterable<Any>) events.push(event);
    const types = events.map((e) => e.type);
    const deltas = types.filter((t) => t === "response.output_text.delta").length;
    expect(deltas).toBeGreaterThan(1);
    expect(types).toEqual([
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      "response.content_part.added",
      ...Array(deltas).fill("response.output_text.delta"),
      "response.output_text.done",
      "response.content_part.done",
      "response.output_item.done",
      "response.completed",
    ]);
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
    const text = events.filter((e) => e.type === "response.output_text.delta").map((e) => e.delta).join("");
    const completed = events.at(-1)!.response;
    expect(events.find((e) => e.type === "response.output_text.done")!.text).toBe(text);
    expect(completed.output[0].content[0].text).toBe(text);
    expect(completed.id).toBe(events[0]!.response.id);
    expect(verdictOf(completed).n_candidates).toBe(3);

    const helper = client.responses.stream({ model: "sim-generator", input: "Why is the sky blue?", verdict: { n: 2 } } as never);
    const final = await helper.finalResponse();
    expect(final.output_text.length).toBeGreaterThan(10);
  });

  it("keeps one model and creation time across a stream's events, for a virtual model too", async () => {
    const { client } = harness({ config: { models: { best3: { model: "sim-generator", n: 3 } } } });
    const stream = await client.responses.create({ model: "best3", input: "Why is the sky blue?", stream: true } as never);
    const events: Any[] = [];
    for await (const event of stream as unknown as AsyncIterable<Any>) events.push(event);
    const created = events[0]!.response;
    const completed = events.at(-1)!.response;
    expect(created.model).toBe("best3");
    expect(completed).toMatchObject({ model: created.model, created_at: created.created_at, id: created.id });
  });

  it("ends a stream that fails after it began with an error event", async () => {
    const sim = createSimulator();
    const inner = fetchInto(sim.app);
    // The generator fails after the first keep-alive was due, so the stream has begun.
    const fetch: typeof globalThis.fetch = async (input, init) => {
      if (bodyText(init).includes("response_a")) return inner(input, init);
      await new Promise((resolve) => setTimeout(resolve, 80));
      return new Response('{"error":{"message":"down"}}', { status: 503 });
    };
    const { app } = harness({ deps: { fetch }, config: { server: { keepalive_ms: 10 } } });
    const raw = await (await post(app, { model: "sim-generator", input: "hi", stream: true, verdict: { n: 2 } })).text();
    const decoder = createSSEDecoder();
    const events = [...decoder.push(raw), ...decoder.end()];
    expect(events.map((e) => e.event)).toEqual(["response.created", "response.in_progress", "error"]);
    expect(JSON.parse(events[2]!.data)).toMatchObject({ type: "error", code: "generator_error", message: expect.stringMatching(/down/), sequence_number: 2 });
  });

  it("refuses a stream that fails before it began with the failure's own status and a JSON error", async () => {
    const sim = createSimulator();
    const inner = fetchInto(sim.app);
    const fetch: typeof globalThis.fetch = async (input, init) =>
      bodyText(init).includes("response_a") ? inner(input, init) : new Response('{"error":{"message":"down"}}', { status: 503 });
    const { app } = harness({ deps: { fetch } });
    const response = await post(app, { model: "sim-generator", input: "hi", stream: true, verdict: { n: 2 } });
    expect(response.status).toBe(503);
    expect((await response.json()).error).toMatchObject({ code: "generator_error", message: expect.stringMatching(/down/) });
  });

  it("passes n = 1 through to the generator's own /v1/responses, streams included", async () => {
    const { client, sim } = harness();
    const response = await client.responses.create({ model: "sim-generator", input: "hello", verdict: { n: 1 } } as never);
    expect(response.id).toMatch(/^resp_sim_/);
    expect(response).not.toHaveProperty("verdict");
    expect(sim.requests.at(-1)!.body).not.toHaveProperty("verdict");
    const stream = await client.responses.create({ model: "sim-generator", input: "hello", stream: true, verdict: { n: 1 } } as never);
    const types: string[] = [];
    for await (const event of stream as unknown as AsyncIterable<Any>) types.push(event.type);
    expect(types.at(-1)).toBe("response.completed");
    expect(sim.count("judge")).toBe(0);
  });

  it("ends a passed-through stream the generator cut off with the Responses API's own error event", async () => {
    const sim = createSimulator();
    const inner = fetchInto(sim.app);
    const created = 'event: response.created\ndata: {"type":"response.created","sequence_number":0}\n\n';
    const fetch: typeof globalThis.fetch = (input, init) => {
      if (!String(input instanceof Request ? input.url : input).endsWith("/responses")) return inner(input, init);
      let reads = 0;
      const body = new ReadableStream<Uint8Array>({
        // One event and a keep-alive comment, then a broken connection (an error at once would drop what is queued).
        pull(controller) {
          if (reads === 0) controller.enqueue(new TextEncoder().encode(created));
          else if (reads === 1) controller.enqueue(new TextEncoder().encode(": keep-alive\n\n"));
          else controller.error(new Error("connection reset"));
          reads += 1;
        },
      });
      return Promise.resolve(new Response(body, { headers: { "content-type": "text/event-stream" } }));
    };
    const { app } = harness({ deps: { fetch } });
    const text = await (await post(app, { model: "sim-generator", input: "hello", stream: true, verdict: { n: 1 } })).text();
    const events = text.split("\n\n").filter((e) => e !== "");
    expect(events[0]).toBe(created.trim());
    // Numbered after the last event, the comment between them notwithstanding.
    expect(events.at(-1)!.startsWith("event: error\n")).toBe(true);
    expect(JSON.parse(events.at(-1)!.split("data: ")[1]!)).toMatchObject({ type: "error", code: "upstream_stream_truncated", sequence_number: 1 });
  });

  it("passes requests it cannot rerank (tools, images, stored state) through and says why", async () => {
    const { app, sim } = harness();
    const tools = [{ type: "function", name: "f", parameters: { type: "object", properties: {} } }];
    const withTools = await post(app, { model: "sim-generator", input: "hi", tools, verdict: { n: 3 } });
    expect(withTools.status).toBe(200);
    expect(withTools.headers.get("x-verdict-passthrough")).toBe("tools");
    const image = [{ role: "user", content: [{ type: "input_image", image_url: "data:," }] }];
    expect((await post(app, { model: "sim-generator", input: image })).headers.get("x-verdict-passthrough")).toBe("input part input_image");
    expect((await post(app, { model: "sim-generator", input: "x", previous_response_id: "resp_1" })).headers.get("x-verdict-passthrough")).toBe(
      "previous_response_id",
    );
    expect(sim.count("judge")).toBe(0);
  });

  it("passes through an item or part of a type no header can repeat, saying so in plain words", async () => {
    const { app } = harness();
    const odd = [
      [{ role: "user", content: [{ type: "input_☃", text: "hi" }] }],
      [{ role: "user", content: [{ type: "input_text\nx-evil: 1", text: "hi" }] }],
      [{ role: "user", content: [{ type: "x".repeat(20_000), text: "hi" }] }],
      [{ role: { toString: 1 }, content: "hi" }],
    ];
    for (const input of odd) {
      for (const stream of [false, true]) {
        const response = await post(app, { model: "sim-generator", input, stream, verdict: { n: 3 } });
        expect(response.status).not.toBe(500);
        expect(response.headers.get("x-verdict-passthrough")).toMatch(/^input (part|item) of another kind$/);
        await response.text();
      }
    }
  });

  it("reranks a turn that sends an earlier refusal back, reading its text", async () => {
    const { client, sim } = harness();
    const refused = { role: "assistant", content: [{ type: "refusal", refusal: "I cannot say." }] };
    const response = await client.responses.create({ model: "sim-generator", input: [{ role: "user", content: "Say it." }, refused, { role: "user", content: "Please?" }], verdict: { n: 2 } } as never);
    expect(verdictOf(response).n_candidates).toBe(2);
    expect(sim.requests[0]!.body.messages).toEqual([
      { role: "user", content: "Say it." },
      { role: "assistant", content: "I cannot say." },
      { role: "user", content: "Please?" },
    ]);
  });

  it("refuses chat's function, audio and prediction parameters on a request to rerank, naming what to send", async () => {
    const { app, sim } = harness();
    const given: [Record<string, unknown>, string, RegExp][] = [
      [{ functions: [{ name: "f", parameters: { type: "object", properties: {} } }] }, "functions", /send tools instead/],
      [{ function_call: "auto" }, "function_call", /send tool_choice instead/],
      [{ web_search_options: {} }, "web_search_options", /send tools instead/],
      [{ modalities: ["text"] }, "modalities", /not one of the Responses API/],
      [{ audio: { voice: "alloy", format: "mp3" } }, "audio", /not one of the Responses API/],
      [{ prediction: { type: "content", content: "x" } }, "prediction", /not one of the Responses API/],
    ];
    for (const [fields, param, message] of given) {
      const response = await post(app, { model: "sim-generator", input: "hi", ...fields, verdict: { n: 2 } });
      expect(response.status).toBe(400);
      expect((await response.json()).error).toMatchObject({ param, code: "unknown_parameter", message: expect.stringMatching(message) });
    }
    expect(sim.requests).toHaveLength(0);
  });

  it("checks a json_schema format's name and schema as OpenAI does, and echoes tool_choice as sent", async () => {
    const { app, sim } = harness();
    const formats: [Record<string, unknown>, string][] = [
      [{ type: "json_schema" }, "text.format.name"],
      [{ type: "json_schema", name: "has space", schema: {} }, "text.format.name"],
      [{ type: "json_schema", name: "answer", schema: "notobj" }, "text.format.schema"],
    ];
    for (const [format, param] of formats) {
      const response = await post(app, { model: "sim-generator", input: "hi", text: { format }, verdict: { n: 2 } });
      expect(response.status).toBe(400);
      expect((await response.json()).error.param).toBe(param);
    }
    expect(sim.requests).toHaveLength(0);
    const echoed = await (await post(app, { model: "sim-generator", input: "hi", tool_choice: "none", verdict: { n: 2 } })).json();
    expect(echoed.tool_choice).toBe("none");
  });

  it("passes an n = 1 or strategy none request through as it came, chat parameters and all, for the generator to judge", async () => {
    for (const options of [{ n: 1 }, { strategy: "none" }]) {
      const { app, sim } = harness();
      const response = await post(app, { model: "sim-generator", input: "hi", max_tokens: 5, seed: 5, verdict: options });
      expect(response.status).toBe(200);
      expect(sim.requests).toHaveLength(1);
      expect(sim.requests[0]!.body).toEqual({ model: "sim-generator", input: "hi", max_tokens: 5, seed: 5 });
    }
    // Reranked, the same parameters are refused, and chat's `messages` sent for `input` is named as such.
    const { app, sim } = harness();
    const misnamed = await post(app, { model: "sim-generator", input: [], messages: [{ role: "user", content: "hi" }], verdict: { n: 2 } });
    expect(misnamed.status).toBe(400);
    expect((await misnamed.json()).error).toMatchObject({ param: "messages", code: "unknown_parameter", message: expect.stringMatching(/send input instead/) });
    expect(sim.requests).toHaveLength(0);
  });

  it("refuses a later turn naming a response verdict reranked, which nobody stored", async () => {
    const { client, app, sim } = harness();
    const first = await client.responses.create({ model: "sim-generator", input: "hello", verdict: { n: 2 } } as never);
    expect(first.id).toMatch(/^resp_verdict_/);
    const before = sim.requests.length;
    for (const n of [2, 1]) {
      const next = await post(app, { model: "sim-generator", input: "and then?", previous_response_id: first.id, verdict: { n } });
      expect(next.status).toBe(400);
      expect((await next.json()).error).toMatchObject({ param: "previous_response_id", code: "response_not_stored" });
    }
    expect(sim.requests).toHaveLength(before);
  });

  it("sends the settings chat completions share under their chat names, reasoning effort included", async () => {
    const { app, sim } = harness();
    const settings = { service_tier: "flex", store: true, metadata: { team: "a" }, safety_identifier: "u-1", prompt_cache_key: "k" };
    await post(app, { model: "sim-generator", input: "hi", reasoning: { effort: "high" }, max_output_tokens: 300, text: { verbosity: "low" }, ...settings, verdict: { n: 2 } });
    // max_completion_tokens, not the older max_tokens, which OpenAI refuses for its reasoning models.
    expect(sim.requests.find((r) => r.role === "generator")!.body).toMatchObject({ ...settings, reasoning_effort: "high", max_completion_tokens: 300, verbosity: "low" });
    // Unstored, chat completions refuse metadata: it stays behind.
    await post(app, { model: "sim-generator", input: "hi", metadata: { team: "a" }, verdict: { n: 2 } });
    expect(sim.requests.filter((r) => r.role === "generator").at(-1)!.body).not.toHaveProperty("metadata");
  });

  it("sends verdict's request id and trace context on a request it passes through", async () => {
    const { app, sim } = harness();
    const traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    const response = await post(app, { model: "sim-generator", input: "hi", verdict: { n: 1 } }, { traceparent });
    const id = response.headers.get("x-request-id");
    expect(id).toBeTruthy();
    const sent = sim.requests.at(-1)!.headers;
    expect(sent["x-request-id"]).toBe(id);
    expect(sent.traceparent).toMatch(/^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-01$/);
  });

  it("names input when it holds no message", async () => {
    const { app, sim } = harness();
    const response = await post(app, { model: "sim-generator", input: [], verdict: { n: 2 } });
    expect(response.status).toBe(400);
    expect((await response.json()).error).toMatchObject({ param: "input", code: "empty_input" });
    expect(sim.requests).toHaveLength(0);
  });

  it("keeps the conversation limits on what the judge reads, naming input; a request passed through keeps only the count", async () => {
    const { app, sim } = harness({ config: { limits: { max_messages: 3, max_chars: 100 } } });
    const items = Array.from({ length: 4 }, () => ({ role: "user", content: "hi" }));
    for (const verdict of [{ n: 2 }, { n: 1 }]) {
      const many = await post(app, { model: "sim-generator", input: items, verdict });
      expect(many.status).toBe(400);
      expect((await many.json()).error).toMatchObject({ param: "input", code: "too_many_messages" });
    }
    const long = await post(app, { model: "sim-generator", input: "x".repeat(101), verdict: { n: 2 } });
    expect(long.status).toBe(400);
    expect((await long.json()).error).toMatchObject({ param: "input", code: "conversation_too_long" });
    // An index names the client's own entry, instructions apart.
    const named = await post(app, { model: "sim-generator", instructions: "be brief", input: [{ role: "user", content: "x".repeat(101) }], verdict: { n: 2 } });
    expect((await named.json()).error.message).toMatch(/reached at input\[0\]\)/);
    const inInstructions = await post(app, { model: "sim-generator", instructions: "x".repeat(101), input: "hi", verdict: { n: 2 } });
    expect((await inInstructions.json()).error.message).toMatch(/reached at instructions\)/);
    expect(sim.requests).toHaveLength(0);
    // No judge reads a conversation passed through: its length is the model's to bound, as without verdict.
    for (const passed of [
      { model: "sim-generator", input: "x".repeat(101), verdict: { n: 1 } },
      { model: "sim-generator", instructions: "x".repeat(101), input: "hi", previous_response_id: "resp_1" },
    ]) {
      const response = await post(app, passed);
      expect(response.status).not.toBe(400);
    }
    expect(sim.requests.length).toBeGreaterThan(0);
  });

  it("finds a guard's documents in instructions, as in a chat request's system message", async () => {
    const { app } = harness();
    const response = await post(app, {
      model: "sim-generator",
      instructions: "Answer from these documents only. The sky looks blue because air scatters short wavelengths most.",
      input: "Why is the sky blue?",
      verdict: { strategy: "guard", n: 2 },
    });
    expect(response.status).toBe(200);
    expect(verdictOf(await response.json()).checks).toHaveLength(2);
  });

  it("refuses a guarded request it could only pass through unchecked, naming the field", async () => {
    const { app, sim } = harness();
    const guard = { strategy: "guard", n: 2, context: "The sky is blue because air scatters short wavelengths." };
    const cases: [Record<string, unknown>, string][] = [
      [{ input: "Why is the sky blue?", previous_response_id: "resp_1" }, "previous_response_id"],
      [{ input: "Why is the sky blue?", tools: [{ type: "function", name: "f", parameters: { type: "object", properties: {} } }] }, "tools"],
      [{ input: [{ role: "user", content: [{ type: "input_image", image_url: "data:," }] }] }, "input"],
    ];
    for (const [fields, param] of cases) {
      const response = await post(app, { model: "sim-generator", ...fields, verdict: guard });
      expect(response.status).toBe(400);
      expect((await response.json()).error).toMatchObject({ type: "invalid_request_error", param, code: "guard_unsupported" });
    }
    // With the documents in instructions instead of verdict.context, the refusal still names what cannot be checked.
    const { context: documents, ...guardWithout } = guard;
    const inInstructions = await post(app, { model: "sim-generator", instructions: documents, ...cases[1]![0], verdict: guardWithout });
    expect((await inInstructions.json()).error).toMatchObject({ param: "tools", code: "guard_unsupported" });
    expect(sim.requests).toHaveLength(0);
  });

  it("refuses a bad body with a 400 naming the parameter", async () => {
    const { app, sim } = harness();
    const response = await post(app, { input: "hi" });
    expect(response.status).toBe(400);
    expect((await response.json()).error.param).toBe("model");
    const parts = [{ type: "input_text", text: "Hello" }, { type: "input_text", text: 5 }];
    const badPart = await post(app, { model: "sim-generator", input: [{ role: "user", content: parts }], verdict: { n: 2 } });
    expect(badPart.status).toBe(400);
    expect((await badPart.json()).error.param).toBe("input[0].content[1].text");
    const chatOnly = await post(app, { model: "sim-generator", input: "hi", max_tokens: 5, verdict: { n: 2 } });
    expect(chatOnly.status).toBe(400);
    expect((await chatOnly.json()).error).toMatchObject({ param: "max_tokens", code: "unknown_parameter", message: expect.stringMatching(/send max_output_tokens instead/) });
    for (const n of [1, 3]) {
      const verbosity = await post(app, { model: "sim-generator", input: "hi", text: { verbosity: 5 }, verdict: { n } });
      expect(verbosity.status).toBe(400);
      expect((await verbosity.json()).error.param).toBe("text.verbosity");
    }
    const xmlWithTools = await post(app, { model: "sim-generator", input: "hi", tools: [{ type: "function", name: "f" }], text: { format: { type: "xml" } } });
    expect(xmlWithTools.status).toBe(400);
    expect((await xmlWithTools.json()).error.param).toBe("text.format.type");
    for (const tools of [{ type: "function", name: "f" }, "web_search", [null]]) {
      for (const n of [1, 3]) {
        const badTools = await post(app, { model: "sim-generator", input: "hi", tools, verdict: { n } });
        expect(badTools.status).toBe(400);
        expect((await badTools.json()).error.param).toMatch(/^tools/);
      }
    }
    const nullItem = await post(app, { model: "sim-generator", input: [null] });
    expect((await nullItem.json()).error).toMatchObject({ param: "input", message: expect.stringMatching(/must be text or a list of input items/) });
    for (const n of [1, 2]) {
      const nullPart = await post(app, { model: "sim-generator", input: [{ role: "user", content: [{ type: "input_text", text: "hi" }, null] }], verdict: { n } });
      expect(nullPart.status).toBe(400);
      expect((await nullPart.json()).error.param).toBe("input[0].content[1]");
    }
    const badFormat = await post(app, { model: "sim-generator", input: "hi", text: { format: { type: "bogus" } }, verdict: { n: 2 } });
    expect(badFormat.status).toBe(400);
    expect((await badFormat.json()).error.param).toBe("text.format.type");
    const wrongTypes: [Record<string, unknown>, string][] = [
      [{ temperature: "hot" }, "temperature"],
      [{ store: "yes" }, "store"],
      [{ text: 5 }, "text"],
      [{ reasoning: "high" }, "reasoning"],
      [{ max_output_tokens: 0 }, "max_output_tokens"],
      [{ metadata: { team: 1 } }, "metadata.team"],
      [{ n: 3 }, "n"],
    ];
    for (const [fields, param] of wrongTypes) {
      for (const n of [1, 2]) {
        const response = await post(app, { model: "sim-generator", input: "hi", ...fields, verdict: { n } });
        expect(response.status).toBe(400);
        expect((await response.json()).error.param).toBe(param);
      }
    }
    expect(sim.requests).toHaveLength(0);
  });

  it("names the Responses field in an error the generator gave about the chat request it became", async () => {
    const refusal = { error: { message: "Invalid 'max_completion_tokens': too large for this model.", type: "invalid_request_error", param: "max_completion_tokens", code: "invalid_value" } };
    const fetch: typeof globalThis.fetch = async () => new Response(JSON.stringify(refusal), { status: 400, headers: { "content-type": "application/json" } });
    const { app } = harness({ deps: { fetch } });
    const response = await post(app, { model: "sim-generator", input: "hi", max_output_tokens: 50, verdict: { n: 2 } });
    expect(response.status).toBe(400);
    expect((await response.json()).error).toMatchObject({ param: "max_output_tokens", message: expect.stringContaining("max_completion_tokens") });
    const streamed = await (await post(app, { model: "sim-generator", input: "hi", max_output_tokens: 50, stream: true, verdict: { n: 2 } })).text();
    expect(streamed).toContain('"param":"max_output_tokens"');
  });

  it("sends a message's text parts as lines of one message, not glued together", async () => {
    const { app, sim } = harness();
    const parts = [{ type: "input_text", text: "Hello" }, { type: "input_text", text: "world" }];
    await post(app, { model: "sim-generator", input: [{ role: "user", content: parts }], verdict: { n: 2 } });
    expect(sim.requests.find((r) => r.role === "generator")!.body.messages).toEqual([{ role: "user", content: "Hello\nworld" }]);
  });
});

describe("one request, streamed or not", () => {
  // A generator that names its model otherwise, dates its answers in 1970 and leaves finish_reason null.
  const fetch: typeof globalThis.fetch = async () =>
    Response.json({ id: "c", object: "chat.completion", created: 1, model: "upstream-internal-name", choices: [{ index: 0, message: { role: "assistant", content: "Blue." }, finish_reason: null }] });
  const request = { model: "sim-generator", input: "Name a colour.", verdict: { n: 2, strategy: "consistency" } };

  it("answers a Response with the model asked of and the second the request arrived, as its stream does", async () => {
    const { app } = harness({ deps: { fetch } });
    // Less a millisecond: Date.now() counts whole ones, so an arrival worked out from it (now less the time since, on
    // a finer clock) can read up to one early, and at the turn of a second that is the second before.
    const before = Math.floor((Date.now() - 1) / 1000);
    const plain = (await (await post(app, request)).json()) as Any;
    const events = createSSEDecoder();
    const streamed = events.push(await (await post(app, { ...request, stream: true })).text()).map((e) => JSON.parse(e.data) as Any);
    const completed = streamed.find((e) => e.type === "response.completed")!.response;
    for (const response of [plain, completed]) {
      expect(response.model).toBe("sim-generator");
      expect(response.created_at).toBeGreaterThanOrEqual(before);
      expect(response.created_at).toBeLessThanOrEqual(Math.floor(Date.now() / 1000));
    }
  });

  it("gives a chat choice whose upstream finish_reason was null as stopped, as its stream does", async () => {
    const { app } = harness({ deps: { fetch } });
    const chat = (stream: boolean) =>
      app.request("/v1/chat/completions", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: "sim-generator", messages: [{ role: "user", content: "Name a colour." }], stream, verdict: { n: 2, strategy: "consistency" } }) });
    const plain = (await (await chat(false)).json()) as Any;
    expect(plain.choices[0].finish_reason).toBe("stop");
    const text = await (await chat(true)).text();
    expect(text).toContain('"finish_reason":"stop"');
  });
});

describe("the winner's message as output parts", () => {
  const citation = { type: "url_citation", url_citation: { start_index: 0, end_index: 5, url: "https://example.com/sky", title: "Sky" } };
  const generating = (message: Any): typeof globalThis.fetch => async () =>
    Response.json({ id: "c", object: "chat.completion", created: 1, model: "g", choices: [{ index: 0, message: { role: "assistant", ...message }, finish_reason: "stop" }] });
  const outputOf = async (message: Any) => {
    const { app } = harness({ deps: { fetch: generating(message) } });
    const request = { model: "sim-generator", input: "Why is the sky blue?", verdict: { n: 2, strategy: "consistency" } };
    const plain = (await (await post(app, request)).json()) as Any;
    const events = createSSEDecoder().push(await (await post(app, { ...request, stream: true })).text()).map((e) => JSON.parse(e.data) as Any);
    const completed = events.find((e) => e.type === "response.completed")!.response;
    expect(completed.output[0].content).toEqual(plain.output[0].content);
    return { content: plain.output[0].content as Any[], events };
  };

  it("keeps the answer's text when the upstream sent an empty refusal beside it, and its citations in the Responses shape", async () => {
    const { content, events } = await outputOf({ content: "Rayleigh scattering.", refusal: "", annotations: [citation] });
    const flat = { type: "url_citation", start_index: 0, end_index: 5, url: "https://example.com/sky", title: "Sky" };
    expect(content).toEqual([{ type: "output_text", text: "Rayleigh scattering.", annotations: [flat], logprobs: [] }]);
    const streamed = events.filter((e) => e.type === "response.output_text.annotation.added");
    expect(streamed).toEqual([expect.objectContaining({ annotation: flat, annotation_index: 0, content_index: 0 })]);
    const deltas = events.filter((e) => e.type === "response.output_text.delta").map((e) => e.delta as string);
    expect(deltas.join("")).toBe("Rayleigh scattering.");
  });

  it("answers a refusal as a refusal part, and an answer that also declined part of the ask with both", async () => {
    expect((await outputOf({ content: null, refusal: "I can't help with that." })).content).toEqual([{ type: "refusal", refusal: "I can't help with that." }]);
    const both = await outputOf({ content: "The sky scatters blue light.", refusal: "I won't guess the weather." });
    expect(both.content).toEqual([
      { type: "output_text", text: "The sky scatters blue light.", annotations: [], logprobs: [] },
      { type: "refusal", refusal: "I won't guess the weather." },
    ]);
    const partsDone = both.events.filter((e) => e.type === "response.content_part.done");
    expect(partsDone.map((e) => [e.content_index, e.part.type])).toEqual([[0, "output_text"], [1, "refusal"]]);
    const numbers = both.events.map((e) => e.sequence_number as number);
    expect(numbers).toEqual(numbers.map((_, i) => i));
  });
});
