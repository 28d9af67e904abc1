// Reranked streams: headers by the first keep-alive, keep-alives while judging, the winner replayed as chunks, errors
// before the stream began with their own status, after it as an event.
import { describe, expect, it } from "vitest";
import { createSSEDecoder, type SSEEvent } from "../../src/openai/sse";
import OpenAI from "openai";
import { createSimulator } from "../sim/server";
import { bodyText, chatBody, fetchInto, harness, postChat } from "../helpers";

async function readAll(response: Response): Promise<{ raw: string; events: SSEEvent[]; json: Record<string, any>[] }> {
  const raw = await response.text();
  const decoder = createSSEDecoder();
  const events = [...decoder.push(raw), ...decoder.end()];
  const json = events.filter((e) => e.data !== "[DONE]").map((e) => JSON.parse(e.data));
  return { raw, events, json };
}

const slowJudge = { judge: { latency: { ttft_ms: 150 } } };

describe("reranked streaming", () => {
  it("answers text/event-stream before judging is done, with keep-alive comments while it runs", async () => {
    const { app, sim } = harness({ sim: slowJudge, config: { server: { keepalive_ms: 20 } } });
    const response = await postChat(app, chatBody({ stream: true, verdict: { n: 3 } }));
    // The headers are here while no judge call has answered yet: nothing waited for the work.
    expect(sim.requests.filter((r) => r.role === "judge" && r.finished)).toHaveLength(0);
    expect(response.headers.get("content-type")).toMatch(/^text\/event-stream/);
    expect(response.headers.get("x-request-id")).toBeTruthy();
    const { raw } = await readAll(response);
    expect(sim.count("judge")).toBe(4); // knockout of three: two matches, one after the other
    expect(raw.startsWith(": ")).toBe(true);
    expect(raw.match(/^: keep-alive\n\n/gm)!.length).toBeGreaterThanOrEqual(2);
  });

  it("replays the winner as role, content and finish chunks; verdict on the last one; usage chunk; [DONE]", async () => {
    const { app } = harness();
    const body = chatBody({ stream: true, stream_options: { include_usage: true }, verdict: { n: 3, return_candidates: true } });
    const { events, json } = await readAll(await postChat(app, body));
    expect(events.at(-1)!.data).toBe("[DONE]");
    expect(json.every((c) => c.object === "chat.completion.chunk")).toBe(true);
    expect(new Set(json.map((c) => c.id)).size).toBe(1);

    const [role, ...rest] = json;
    expect(role!.choices[0].delta).toMatchObject({ role: "assistant", content: "" });
    const usageChunk = rest.pop()!;
    const finish = rest.pop()!;
    const content = rest.map((c) => c.choices[0].delta.content);
    expect(content.length).toBeGreaterThan(2);
    expect(finish.choices[0]).toMatchObject({ index: 0, delta: {}, finish_reason: "stop" });

    const verdict = finish.verdict;
    expect(verdict.n_candidates).toBe(3);
    expect(content.join("")).toBe(verdict.candidates[verdict.winner].message.content);
    expect(usageChunk.choices).toEqual([]);
    expect(usageChunk.usage.total_tokens).toBe(verdict.usage.generator.total_tokens + verdict.usage.judge.total_tokens);
    // Without include_usage there is no usage chunk and no usage field.
    const plain = await readAll(await postChat(app, chatBody({ stream: true, verdict: { n: 2 } })));
    expect(plain.json.every((c) => c.choices.length === 1 && !("usage" in c))).toBe(true);
  });

  /** The simulator's judge, and a generator that answers 429 after `delayMs`. */
  function rateLimitedGenerator(delayMs: number): typeof globalThis.fetch {
    const inner = fetchInto(createSimulator().app);
    return async (input, init) => {
      if (bodyText(init).includes("response_a")) return inner(input, init);
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      return new Response(JSON.stringify({ error: { message: "slow down", type: "rate_limit" } }), { status: 429, headers: { "retry-after": "7" } });
    };
  }

  it("answers a failure that comes before the first keep-alive is due with its own status, as OpenAI refuses a stream", async () => {
    const { app } = harness({ deps: { fetch: rateLimitedGenerator(0) }, config: { server: { keepalive_ms: 1_000 } } });
    const response = await postChat(app, chatBody({ stream: true, verdict: { n: 2 } }));
    expect(response.status).toBe(429);
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    expect(response.headers.get("retry-after")).toBe("7");
    expect(response.headers.get("x-request-id")).toBeTruthy();
    expect((await response.json()).error).toMatchObject({ message: expect.stringMatching(/slow down/), type: "rate_limit_error" });
  });

  it("reports a failure after the stream began as an error event in OpenAI's shape, then ends", async () => {
    const { app } = harness({ deps: { fetch: rateLimitedGenerator(80) }, config: { server: { keepalive_ms: 10 } } });
    const response = await postChat(app, chatBody({ stream: true, verdict: { n: 2 } }));
    expect(response.status).toBe(200);
    const { raw, events, json } = await readAll(response);
    expect(raw.startsWith(": verdict: sampling candidates")).toBe(true);
    expect(events).toHaveLength(1);
    expect(json[0]).toEqual({
      error: { message: expect.stringMatching(/slow down/), type: "rate_limit_error", param: null, code: "generator_error" },
    });
  });

  it("streams n > 1 as one choice index per ranked candidate, in rank order", async () => {
    const { app } = harness();
    const { json } = await readAll(await postChat(app, chatBody({ stream: true, n: 2, verdict: { n: 3, return_candidates: true } })));
    const verdict = json.at(-1)!.verdict;
    const text = (index: number) =>
      json.flatMap((c) => c.choices).filter((ch) => ch.index === index).map((ch) => ch.delta.content ?? "").join("");
    expect(json.flatMap((c) => c.choices.map((ch: { index: number }) => ch.index)).filter((i, k, all) => all.indexOf(i) === k)).toEqual([0, 1]);
    expect(text(0)).toBe(verdict.candidates[verdict.ranking[0]].message.content);
    expect(text(1)).toBe(verdict.candidates[verdict.ranking[1]].message.content);
    expect(json.filter((c) => c.choices[0]?.finish_reason === "stop")).toHaveLength(2);
  });

  it("works with the openai SDK's stream: content deltas, the usage chunk, and a mid-stream error raised as APIError", async () => {
    const { client } = harness();
    const stream = await client.chat.completions.create({
      model: "sim-generator",
      messages: [{ role: "user", content: "Explain why the sky is blue." }],
      stream: true,
      stream_options: { include_usage: true },
      ...({ verdict: { n: 2, return_candidates: true } } as object), // verdict's own field, unknown to the SDK's types
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    const usage = chunks.at(-1)!;
    expect(usage.choices).toEqual([]);
    expect(usage.usage!.total_tokens).toBeGreaterThan(0);
    const verdict = (chunks.at(-2) as unknown as { verdict: { winner: number; candidates: { message: { content: string } }[] } }).verdict;
    const content = chunks.map((c) => c.choices[0]?.delta.content ?? "").join("");
    expect(content).toBe(verdict.candidates[verdict.winner]!.message.content);

    // Refused before the stream began: the SDK's own error for the status. After: an APIError while reading.
    const refused = harness({ deps: { fetch: async () => new Response('{"error":{"message":"nope"}}', { status: 503 }) } });
    await expect(refused.client.chat.completions.create({ ...chatBody(), stream: true, verdict: { n: 2 } } as never)).rejects.toMatchObject({ status: 503 });
    const failing = harness({ deps: { fetch: rateLimitedGenerator(80) }, config: { server: { keepalive_ms: 10 } } });
    const broken = await failing.client.chat.completions.create({ ...chatBody(), stream: true, verdict: { n: 2 } } as never);
    const read = async () => {
      for await (const _chunk of broken as unknown as AsyncIterable<unknown>) void _chunk;
    };
    await expect(read()).rejects.toBeInstanceOf(OpenAI.APIError);
  });

  it("pipes pass-through streams as they arrive instead of buffering them", async () => {
    const { app, sim } = harness({ sim: { generator: { latency: { tokens_per_second: 100 } } } });
    const response = await postChat(app, chatBody({ stream: true, verdict: { n: 1 } }));
    const reader = response.body!.getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toMatch(/chat\.completion\.chunk/);
    // The first chunk is here while the generator is still writing the rest.
    expect(sim.requests.at(-1)!.finished).toBe(false);
    while (!(await reader.read()).done);
    expect(sim.requests.at(-1)!.finished).toBe(true);
  });
});
