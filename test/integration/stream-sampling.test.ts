// generator.stream_sampling: verdict reads the generator's SSE itself (src/openai/sse.ts) and judges early finishers
// while their siblings are still being written.
import { describe, expect, it } from "vitest";
import { encodeEvent } from "../../src/openai/sse";
import { qualityOf } from "../sim/random";
import { bodyText, chatBody, fetchInto, harness, postChat } from "../helpers";
import { createSimulator } from "../sim/server";

type Any = Record<string, any>;
const streaming = { generator: { stream_sampling: true } };
/** One chat.completion.chunk of a generator's stream, as the tests below script them. */
const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) => ({ id: "c", object: "chat.completion.chunk", created: 1, model: "m", choices, ...extra });

describe("streamed sampling", () => {
  it("starts judging before the generator's stream has ended, and still picks the best candidate", async () => {
    const { app, sim } = harness({ config: streaming, sim: { generator: { latency: { tokens_per_second: 400 }, min_sentences: 3 } } });
    const body = await (await postChat(app, chatBody({ verdict: { n: 3, return_candidates: true } }))).json();
    const generator = sim.requests.find((r) => r.role === "generator")!;
    expect(generator.body).toMatchObject({ n: 3, stream: true, stream_options: { include_usage: true } });
    // The simulator streams choice 0 completely, then 1, then 2: the first match starts while choice 2 is being written.
    const firstJudge = sim.requests.find((r) => r.role === "judge")!;
    expect(firstJudge.receivedAt).toBeLessThan(generator.finishedAt!);
    expect(body.verdict.candidates.map((c: Any) => c.message.content)).toEqual(((generator.response as Any).choices as Any[]).map((c) => c.message.content));
    const texts: string[] = body.verdict.candidates.map((c: Any) => c.message.content);
    expect(body.choices[0].message.content).toBe(texts.reduce((a, b) => (qualityOf(a) >= qualityOf(b) ? a : b)));
    expect(body.verdict.usage.generator.total_tokens).toBe((generator.response as Any).usage.total_tokens);
  });

  it("rebuilds streamed tool calls exactly", async () => {
    const { client, sim } = harness({ config: streaming });
    const completion = await client.chat.completions.create({
      ...chatBody(),
      tools: [{ type: "function", function: { name: "lookup", parameters: { type: "object", properties: { q: { type: "string" } } } } }],
      tool_choice: "required",
      verdict: { n: 2 },
    } as never);
    const generated = ((sim.requests[0]!.response as Any).choices as Any[])[(completion as unknown as Any).verdict.winner];
    expect(completion.choices[0]!.message.tool_calls).toEqual(generated!.message.tool_calls);
  });

  it("keeps the candidates that finished before the stream broke, and reports the loss", async () => {
    const sse = [
      encodeEvent(chunk([{ index: 0, delta: { role: "assistant", content: "The first answer." }, finish_reason: null }])),
      encodeEvent(chunk([{ index: 0, delta: {}, finish_reason: "stop" }])),
      encodeEvent(chunk([{ index: 1, delta: { role: "assistant", content: "The sec" }, finish_reason: null }])),
      encodeEvent({ error: { message: "worker crashed", type: "server_error" } }),
    ].join("");
    const fetch: typeof globalThis.fetch = async () => new Response(sse, { headers: { "content-type": "text/event-stream" } });
    const { app } = harness({ config: streaming, deps: { fetch } });
    const body = await (await postChat(app, chatBody({ verdict: { n: 2 } }))).json();
    expect(body.choices[0].message.content).toBe("The first answer.");
    expect(body.verdict.n_candidates).toBe(1);
    expect(body.verdict.degraded).toBe("candidates_lost");
    expect(body.verdict.errors[0].message).toMatch(/worker crashed/);
    // Answered under the stream's own id and time, which came before the break.
    expect([body.id, body.created]).toEqual(["c", 1]);
  });

  it("takes a stream that ends without [DONE], choices unfinished, as broken off, not as fewer choices to draw again", async () => {
    for (const tail of ["", 'data: {"id":"c","cho']) {
      const sse = [
        encodeEvent(chunk([{ index: 0, delta: { role: "assistant", content: "The first answer." }, finish_reason: "stop" }])),
        encodeEvent(chunk([{ index: 1, delta: { role: "assistant", content: "The sec" }, finish_reason: null }])),
        tail,
      ].join("");
      let calls = 0;
      const fetch: typeof globalThis.fetch = async (input, init) => {
        if (bodyText(init).includes("<response_a>")) return fetchInto(createSimulator().app)(input, init);
        calls += 1;
        return new Response(sse, { headers: { "content-type": "text/event-stream" } });
      };
      const { app } = harness({ config: { ...streaming, generator: { ...streaming.generator, max_retries: 0 } }, deps: { fetch } });
      const body = await (await postChat(app, chatBody({ verdict: { n: 3 } }))).json();
      expect([tail, calls]).toEqual([tail, 1]);
      expect(body.choices[0].message.content).toBe("The first answer.");
      expect(body.verdict.degraded).toBe("candidates_lost");
    }
  });

  it("counts the usage a stream sent before it broke off, its last candidate unfinished", async () => {
    const finished = (index: number, content: string) => encodeEvent(chunk([{ index, delta: { role: "assistant", content }, finish_reason: "stop" }]));
    const sse = [
      finished(0, "The first answer."),
      finished(1, "The second answer."),
      encodeEvent(chunk([], { usage: { prompt_tokens: 5, completion_tokens: 7, total_tokens: 12 } })),
      encodeEvent({ error: { message: "worker crashed", type: "server_error" } }),
    ].join("");
    const fetch: typeof globalThis.fetch = async (_input, init) =>
      bodyText(init).includes("<response_a>") ? fetchInto(createSimulator().app)(_input, init) : new Response(sse, { headers: { "content-type": "text/event-stream" } });
    const { app } = harness({ config: streaming, deps: { fetch } });
    const body = await (await postChat(app, chatBody({ verdict: { n: 3 } }))).json();
    expect(body.verdict.n_candidates).toBe(2);
    expect(body.verdict.degraded).toBe("candidates_lost");
    expect(body.verdict.usage.generator.total_tokens).toBe(12);
  });

  it("hands the client no key that a streamed candidate repeats, even one split between two chunks", async () => {
    const key = "gen-SECRET-key-111111";
    const whole = [
      encodeEvent(chunk([{ index: 0, delta: { role: "assistant", content: `my key is ${key}` }, finish_reason: "stop" }])),
      encodeEvent(chunk([{ index: 1, delta: { role: "assistant", content: `also ${key}` }, finish_reason: "stop" }])),
      "data: [DONE]\n\n",
    ].join("");
    const cut = whole.indexOf("SECRET");
    const fetch: typeof globalThis.fetch = async () => {
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new TextEncoder().encode(whole.slice(0, cut)));
          controller.enqueue(new TextEncoder().encode(whole.slice(cut)));
          controller.close();
        },
      });
      return new Response(body, { headers: { "content-type": "text/event-stream" } });
    };
    const { app } = harness({ config: { generator: { stream_sampling: true, api_key: key } }, deps: { fetch } });
    const text = await (await postChat(app, chatBody({ verdict: { n: 2, return_candidates: true } }))).text();
    expect(text).not.toContain("SECRET");
    const body = JSON.parse(text);
    expect(body.verdict.candidates.map((c: Any) => c.message.content)).toEqual(["my key is [redacted]", "also [redacted]"]);
  });

  it("hands the client no key that a streamed candidate spells out across several events", async () => {
    const key = "gen-SECRET-key-111111";
    // Each choice spells the key out over three events, as a model writes it token by token.
    const spelled = (index: number) => [
      encodeEvent(chunk([{ index, delta: { role: "assistant", content: `${index}: my key is gen-SEC` }, finish_reason: null }])),
      encodeEvent(chunk([{ index, delta: { content: "RET-key-" }, finish_reason: null }])),
      encodeEvent(chunk([{ index, delta: { content: "111111, keep it" }, finish_reason: "stop" }])),
    ];
    const sse = [...spelled(0), ...spelled(1), "data: [DONE]\n\n"].join("");
    const fetch: typeof globalThis.fetch = async () => new Response(sse, { headers: { "content-type": "text/event-stream" } });
    const { app } = harness({ config: { generator: { stream_sampling: true, api_key: key } }, deps: { fetch } });
    const text = await (await postChat(app, chatBody({ verdict: { n: 2, return_candidates: true } }))).text();
    expect(text).not.toContain("SECRET");
    const contents = JSON.parse(text).verdict.candidates.map((c: Any) => c.message.content);
    expect(contents).toEqual(["0: my key is [redacted], keep it", "1: my key is [redacted], keep it"]);
  });

  it("takes keys out of every text a streamed candidate built, reasoning included", async () => {
    const key = "gen-SECRET-key-222222";
    const sse = [
      ...[0, 1].flatMap((index) => [
        encodeEvent(chunk([{ index, delta: { role: "assistant", reasoning_content: "the key is gen-SEC" }, finish_reason: null }])),
        encodeEvent(chunk([{ index, delta: { reasoning_content: "RET-key-222222 ok", content: "fine" }, finish_reason: "stop" }])),
      ]),
      "data: [DONE]\n\n",
    ].join("");
    const fetch: typeof globalThis.fetch = async () => new Response(sse, { headers: { "content-type": "text/event-stream" } });
    const { app } = harness({ config: { generator: { stream_sampling: true, api_key: key } }, deps: { fetch } });
    const text = await (await postChat(app, chatBody({ verdict: { n: 2, return_candidates: true } }))).text();
    expect(text).not.toContain("SECRET");
    expect(JSON.parse(text).choices[0].message.reasoning_content).toBe("the key is [redacted] ok");
  });

  it("scrubs an error event in the stream as an error body is scrubbed, and cuts it short", async () => {
    const error = { error: { message: `invalid key Bearer abcdefghijklmnopqrstuvwxyz123456 sk-proj-abcdefghijklmnopqrstuvwxyz0123 ${"x".repeat(5_000)}` } };
    const fetch: typeof globalThis.fetch = async () => new Response(encodeEvent(error), { headers: { "content-type": "text/event-stream" } });
    const { app } = harness({ config: streaming, deps: { fetch } });
    const response = await postChat(app, chatBody({ verdict: { n: 2 } }));
    expect(response.status).toBe(502);
    const { message } = (await response.json()).error;
    expect(message).not.toMatch(/abcdefghijklmnopqrstuvwxyz/);
    expect(message).toMatch(/Bearer \[redacted\]/);
    expect(message.length).toBeLessThan(2_100);
  });

  /** A generator whose streams are `streams` in turn (the last one again once they run out); the judge is the simulator's. */
  function generatorStreaming(...streams: string[]) {
    const sim = createSimulator();
    const simFetch = fetchInto(sim.app);
    let calls = 0;
    const fetch: typeof globalThis.fetch = async (input, init) => {
      if (JSON.parse(String(init?.body ?? "{}")).model !== "sim-generator") return simFetch(input, init);
      const sse = streams[Math.min(calls++, streams.length - 1)]!;
      return new Response(sse, { headers: { "content-type": "text/event-stream" } });
    };
    return { fetch, calls: () => calls };
  }
  const twoAnswers = [0, 1].map((index) => encodeEvent(chunk([{ index, delta: { role: "assistant", content: `Answer ${index}.` }, finish_reason: "stop" }]))).join("") + "data: [DONE]\n\n";

  it("reads vLLM's flat error event as the error it is, with its status, message and param", async () => {
    for (const [event, param] of [
      [{ object: "error", message: "This model's maximum context length is 4096 tokens", type: "BadRequestError", param: null, code: 400 }, null],
      [{ error: { message: "messages must not be empty", type: "invalid_request_error", param: "messages", code: 400 } }, "messages"],
    ] as const) {
      const generator = generatorStreaming(encodeEvent(event));
      // supports_n true: a 400 is not taken for a refusal of `n` to be learnt with a single draw.
      const { app } = harness({ config: { generator: { stream_sampling: true, supports_n: true } }, deps: { fetch: generator.fetch } });
      const response = await postChat(app, chatBody({ verdict: { n: 2 } }));
      expect(response.status).toBe(400);
      expect((await response.json()).error).toMatchObject({ message: expect.stringMatching(/context length|must not be empty/), param });
      // Refused for the request itself: not drawn again, one candidate at a time.
      expect(generator.calls()).toBe(1);
    }
  });

  it("takes a chunk whose error field says there is none (null, false, empty) for the chunk it is", async () => {
    const quiet = [0, 1].map((index) => encodeEvent(chunk([{ index, delta: { role: "assistant", content: `Answer ${index}.` }, finish_reason: "stop" }], { error: index === 0 ? false : null }))).join("") + "data: [DONE]\n\n";
    const generator = generatorStreaming(quiet);
    const { app } = harness({ config: { generator: { stream_sampling: true, supports_n: true } }, deps: { fetch: generator.fetch } });
    const response = await postChat(app, chatBody({ verdict: { n: 2 } }));
    expect(response.status).toBe(200);
    expect((await response.json()).verdict.n_candidates).toBe(2);
  });

  it("reads a JSON error answered to a streamed draw as that error, not as an answer without choices", async () => {
    const sim = createSimulator();
    let calls = 0;
    const fetch: typeof globalThis.fetch = async (input, init) => {
      if (JSON.parse(String(init?.body ?? "{}")).model !== "sim-generator") return fetchInto(sim.app)(input, init);
      calls += 1;
      return Response.json({ error: { message: "CUDA out of memory", type: "server_error", code: null } });
    };
    const { app } = harness({ config: { generator: { stream_sampling: true, supports_n: true, max_retries: 0 } }, deps: { fetch } });
    const response = await postChat(app, chatBody({ verdict: { n: 4 } }));
    expect(response.status).toBe(502);
    expect(JSON.stringify(await response.json())).toMatch(/CUDA out of memory/);
    expect(calls).toBe(1);
  });

  it("retries a stream whose first event is an error, as the same error sent as a response is retried", async () => {
    const overloaded = encodeEvent({ error: { message: "overloaded", type: "server_error", code: 503 } });
    const { fetch, calls } = generatorStreaming(overloaded, twoAnswers);
    const { app } = harness({ config: { generator: { stream_sampling: true, max_retries: 1 }, retry: { base_delay_ms: 1, max_delay_ms: 2 } }, deps: { fetch } });
    const response = await postChat(app, chatBody({ verdict: { n: 2 } }));
    expect(response.status).toBe(200);
    expect(calls()).toBe(2);
  });

  it("fails only the draw whose chunk names a tool call slot no stream has, leaving the process's arrays alone", async () => {
    const call = (index: unknown) => encodeEvent(chunk([{ index: 0, delta: { tool_calls: [{ index, map: 1, function: { name: "evil", arguments: "{}" } }] }, finish_reason: null }]));
    for (const index of ["__proto__", 4_294_967_294, -1, 1.5]) {
      const { fetch } = generatorStreaming(call(index) + twoAnswers);
      const { app } = harness({ config: streaming, deps: { fetch } });
      const response = await postChat(app, chatBody({ verdict: { n: 2 } }));
      expect(response.status).toBe(502);
      expect((await response.json()).error.message).toMatch(/malformed stream event/);
    }
    expect(Object.hasOwn(Array.prototype, "function")).toBe(false);
    expect([1, 2].map((x) => x * 2)).toEqual([2, 4]);
    const { fetch } = generatorStreaming(twoAnswers);
    expect((await postChat(harness({ config: streaming, deps: { fetch } }).app, chatBody({ verdict: { n: 2 } }))).status).toBe(200);
  });

  it("keeps the fields it does not rebuild, and never makes a candidate of a repeated finish chunk", async () => {
    const finish = (index: number) => encodeEvent(chunk([{ index, delta: {}, finish_reason: "stop", stop_reason: 7 }], { service_tier: "flex" }));
    const sse = [
      ...[0, 1, 2].flatMap((index) => [
        encodeEvent(chunk([{ index, delta: { role: "assistant", content: `Answer ${index}.` }, finish_reason: null, stop_reason: null }], { service_tier: "flex" })),
        finish(index),
        finish(index), // a server that says it twice
      ]),
      "data: [DONE]\n\n",
    ].join("");
    const sim = createSimulator();
    const simFetch = fetchInto(sim.app);
    const fetch: typeof globalThis.fetch = async (input, init) =>
      JSON.parse(String(init?.body ?? "{}")).model === "sim-generator" ? new Response(sse, { headers: { "content-type": "text/event-stream" } }) : simFetch(input, init);
    const { app } = harness({ config: streaming, deps: { fetch } });
    const body = await (await postChat(app, chatBody({ verdict: { n: 3, return_candidates: true } }))).json();
    expect(body.verdict.candidates.map((c: Any) => c.message.content)).toEqual(["Answer 0.", "Answer 1.", "Answer 2."]);
    expect(body.service_tier).toBe("flex");
    expect(body.choices[0].stop_reason).toBe(7);
  });

  it("ends a draw whose stream sends an event too large to be a chunk, without drawing it again", async () => {
    let calls = 0;
    const fetch: typeof globalThis.fetch = async () => {
      calls += 1;
      const piece = new TextEncoder().encode("x".repeat(1024 * 1024));
      let sent = 0;
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent === 0) controller.enqueue(new TextEncoder().encode('data: {"choices":[{"index":0,"delta":{"content":"'));
          controller.enqueue(piece);
          if (++sent > 20) controller.close();
        },
      });
      return new Response(body, { headers: { "content-type": "text/event-stream" } });
    };
    const { app } = harness({ config: { generator: { stream_sampling: true, max_retries: 2 } }, deps: { fetch } });
    const response = await postChat(app, chatBody({ verdict: { n: 2 } }));
    expect(response.status).toBe(502);
    expect((await response.json()).error.code).toBe("upstream_event_too_large");
    expect(calls).toBe(1);
  });

  it("takes the choices of an upstream that ignores stream: true and answers JSON, instead of drawing them again", async () => {
    let generatorCalls = 0;
    const sim = createSimulator();
    const simFetch = fetchInto(sim.app);
    const fetch: typeof globalThis.fetch = async (input, init) => {
      const sent = JSON.parse(String(init?.body ?? "{}"));
      if (sent.model !== "sim-generator") return simFetch(input, init);
      generatorCalls += 1;
      const choices = Array.from({ length: sent.n ?? 1 }, (_, index) => ({ index, message: { role: "assistant", content: `answer ${index}` }, finish_reason: "stop" }));
      return Response.json({ id: "c", object: "chat.completion", created: 1, model: "m", choices, usage: { prompt_tokens: 10, completion_tokens: 6, total_tokens: 16 } });
    };
    const { app } = harness({ config: streaming, deps: { fetch } });
    const body = await (await postChat(app, chatBody({ verdict: { n: 3, return_candidates: true } }))).json();
    expect(generatorCalls).toBe(1);
    expect(body.verdict.candidates.map((c: Any) => c.message.content)).toEqual(["answer 0", "answer 1", "answer 2"]);
    expect(body.verdict.usage.generator.total_tokens).toBe(16);
    expect(body.verdict.degraded).toBeUndefined();
  });

  /** A generator whose stream sends one finished choice, then breaks off (`cut`) or goes silent (`stall`). */
  function brokenStream(how: "cut" | "stall") {
    const first = [
      encodeEvent(chunk([{ index: 0, delta: { role: "assistant", content: "The first answer." }, finish_reason: null }])),
      encodeEvent(chunk([{ index: 0, delta: {}, finish_reason: "stop" }])),
    ].join("");
    let calls = 0;
    const fetch: typeof globalThis.fetch = async (_input, init) => {
      calls += 1;
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new TextEncoder().encode(first));
          // Later, once the first choice has been read: an error discards whatever is still queued.
          if (how === "cut") setTimeout(() => controller.error(new TypeError("terminated")), 20);
          init?.signal?.addEventListener("abort", () => controller.error(init.signal!.reason));
        },
      });
      return new Response(body, { headers: { "content-type": "text/event-stream" } });
    };
    return { fetch, calls: () => calls };
  }

  it("does not draw again once a stream has handed over a candidate: the loss is reported, not retried", async () => {
    const generator = brokenStream("cut");
    const { app } = harness({ config: { generator: { stream_sampling: true, max_retries: 2 } }, deps: { fetch: generator.fetch } });
    const body = await (await postChat(app, chatBody({ verdict: { n: 2 } }))).json();
    expect(generator.calls()).toBe(1);
    expect(body.choices[0].message.content).toBe("The first answer.");
    expect(body.verdict.degraded).toBe("candidates_lost");
  });

  it("bounds a stream that stalls halfway by generator.timeout_ms, keeping what finished", async () => {
    const generator = brokenStream("stall");
    const config = { generator: { stream_sampling: true, timeout_ms: 150, max_retries: 2 }, timeouts: { request_ms: 5_000 } };
    const { app } = harness({ config, deps: { fetch: generator.fetch } });
    const started = performance.now();
    const response = await postChat(app, chatBody({ verdict: { n: 2 } }));
    expect(performance.now() - started).toBeLessThan(2_000);
    const body = await response.json();
    expect(response.status).toBe(200);
    expect(body.choices[0].message.content).toBe("The first answer.");
    expect(body.verdict.degraded).toBe("candidates_lost");
    expect(body.verdict.errors[0].status).toBe(504);
    expect(generator.calls()).toBe(1);
  });

  it("answers once every choice and the usage are in, without waiting for a [DONE] that is slow to come", async () => {
    const events = [
      chunk([{ index: 0, delta: { role: "assistant", content: "The first answer." }, finish_reason: "stop" }]),
      chunk([{ index: 1, delta: { role: "assistant", content: "The second, longer answer." }, finish_reason: "stop" }]),
      chunk([], { usage: { prompt_tokens: 5, completion_tokens: 9, total_tokens: 14 } }),
    ].map((e) => encodeEvent(e)).join("");
    let cancelled = false;
    const fetch: typeof globalThis.fetch = async (input, init) => {
      if (bodyText(init).includes("response_a")) return fetchInto(createSimulator().app)(input, init);
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new TextEncoder().encode(events)); // and then nothing: no [DONE], no end
          init?.signal?.addEventListener("abort", () => controller.error(init.signal!.reason));
        },
        cancel: () => void (cancelled = true),
      });
      return new Response(body, { headers: { "content-type": "text/event-stream" } });
    };
    const config = { generator: { stream_sampling: true, timeout_ms: 5_000 } };
    const { app } = harness({ config, deps: { fetch } });
    const started = performance.now();
    const body = await (await postChat(app, chatBody({ verdict: { n: 2 } }))).json();
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(body.verdict.n_candidates).toBe(2);
    expect(body.verdict).not.toHaveProperty("degraded");
    expect(body.verdict.usage.generator.total_tokens).toBe(14);
    // What the upstream still sends is read for a while (so a connection that ends goes back to the pool), then given up.
    for (let waited = 0; !cancelled && waited < 3_000; waited += 50) await new Promise((r) => setTimeout(r, 50));
    expect(cancelled).toBe(true);
  });

  it("reads a stream's tail to its end, so its connection is reused, and closes a stream that failed", async () => {
    const answer = (index: number, content: string) => encodeEvent(chunk([{ index, delta: { role: "assistant", content }, finish_reason: "stop" }]));
    const usage = encodeEvent(chunk([], { usage: { prompt_tokens: 5, completion_tokens: 9, total_tokens: 14 } }));
    const failure = encodeEvent({ error: { message: "worker crashed", type: "server_error" } });
    const runs: { cancelled: boolean }[] = [];
    const upstream = (events: string, then: "end" | "hang") => {
      const fetch: typeof globalThis.fetch = async (input, init) => {
        if (bodyText(init).includes("response_a")) return fetchInto(createSimulator().app)(input, init);
        const run = { cancelled: false };
        runs.push(run);
        const body = new ReadableStream<Uint8Array>({
          start(controller) {
            controller.enqueue(new TextEncoder().encode(events));
            // [DONE] and the end come a little later, in a write of their own, as servers send them.
            const end = () => (controller.enqueue(new TextEncoder().encode("data: [DONE]\n\n")), controller.close());
            if (then === "end") setTimeout(() => run.cancelled || end(), 20);
          },
          cancel: () => void (run.cancelled = true),
        });
        return new Response(body, { headers: { "content-type": "text/event-stream" } });
      };
      return harness({ config: { generator: { stream_sampling: true } }, deps: { fetch } }).app;
    };
    const ended = await postChat(upstream(answer(0, "The first answer.") + answer(1, "The second answer.") + usage, "end"), chatBody({ verdict: { n: 2 } }));
    expect(ended.status).toBe(200);
    await new Promise((r) => setTimeout(r, 100));
    expect(runs[0]!.cancelled).toBe(false);

    const failed = await postChat(upstream(answer(0, "The first answer.") + failure, "hang"), chatBody({ verdict: { n: 2 } }));
    expect((await failed.json()).verdict.degraded).toBe("candidates_lost");
    expect(runs[1]!.cancelled).toBe(true);
  });
});
