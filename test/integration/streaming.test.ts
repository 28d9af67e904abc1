// Reranked streams: headers at once, keep-alives while judging, the winner replayed as chunks, errors as an event.
import { describe, expect, it } from "vitest";
import { createSSEDecoder, type SSEEvent } from "../../src/openai/sse";
import { createSimulator } from "../sim/server";
import { chatBody, fetchInto, harness, postChat } from "../helpers";

async function readAll(response: Response): Promise<{ raw: string; events: SSEEvent[]; json: Record<string, any>[] }> {
  const raw = await response.text();
  const decoder = createSSEDecoder();
  const events = [...decoder.push(raw), ...decoder.end()];
  const json = events.filter((e) => e.data !== "[DONE]").map((e) => JSON.parse(e.data));
  return { raw, events, json };
}

const slowJudge = { judge: { latency: { ttft_ms: 120 } } };

describe("reranked streaming", () => {
  it("answers text/event-stream before judging is done, with keep-alive comments while it runs", async () => {
    const { app } = harness({ sim: slowJudge, config: { server: { keepalive_ms: 20 } } });
    const started = Date.now();
    const response = await postChat(app, chatBody({ stream: true, verdict: { n: 3 } }));
    expect(Date.now() - started).toBeLessThan(100);
    expect(response.headers.get("content-type")).toMatch(/^text\/event-stream/);
    expect(response.headers.get("x-request-id")).toBeTruthy();
    const { raw } = await readAll(response);
    expect(Date.now() - started).toBeGreaterThanOrEqual(120);
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

  it("reports a failure after the stream began as an error event in OpenAI's shape, then ends", async () => {
    const sim = createSimulator();
    const inner = fetchInto(sim.app);
    const fetch: typeof globalThis.fetch = async (input, init) =>
      String(init?.body).includes("response_a")
        ? inner(input, init)
        : new Response(JSON.stringify({ error: { message: "slow down", type: "rate_limit" } }), { status: 429 });
    const { app } = harness({ deps: { fetch } });
    const response = await postChat(app, chatBody({ stream: true, verdict: { n: 2 } }));
    expect(response.status).toBe(200);
    const { events, json } = await readAll(response);
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
});
