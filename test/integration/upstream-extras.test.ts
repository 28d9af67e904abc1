// What upstreams report beyond plain text and totals reaches the client: token breakdowns (cached prompt tokens and
// reasoning tokens are billed differently), content given as a list of parts, and fields verdict has no use for
// (service_tier, vLLM's stop_reason).
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { createApp } from "../../src/app";
import { createSSEDecoder } from "../../src/openai/sse";
import { chatBody, fetchInto, harness, postChat, testConfig } from "../helpers";
import { createSimulator } from "../sim/server";

type Any = Record<string, any>;

/** The simulator, with each of the generator's JSON answers changed by `rewrite` before verdict reads it. */
function rewrittenGenerator(rewrite: (body: Any) => void) {
  const sim = createSimulator();
  const simFetch = fetchInto(sim.app);
  const fetch: typeof globalThis.fetch = async (input, init) => {
    const response = await simFetch(input, init);
    const sent = JSON.parse(String(init?.body ?? "{}"));
    if (sent.model !== "sim-generator" || !response.ok) return response;
    const body = await response.json();
    rewrite(body);
    return Response.json(body);
  };
  return { sim, fetch };
}

/** The simulator, with every JSON answer's usage broken down as OpenAI does: 5 cached prompt tokens, 7 reasoning. */
function simWithBreakdowns() {
  const sim = createSimulator();
  const simFetch = fetchInto(sim.app);
  const fetch: typeof globalThis.fetch = async (input, init) => {
    const response = await simFetch(input, init);
    if (!response.headers.get("content-type")?.includes("application/json") || !response.ok) return response;
    const body = await response.json();
    body.usage = { ...body.usage, prompt_tokens_details: { cached_tokens: 5, audio_tokens: 0 }, completion_tokens_details: { reasoning_tokens: 7 } };
    return Response.json(body);
  };
  return { sim, fetch };
}

describe("token breakdowns", () => {
  it("adds up every call's cached and reasoning tokens in a reranked answer's usage", async () => {
    const { sim, fetch } = simWithBreakdowns();
    const { app } = harness({ deps: { fetch } });
    const body = await (await postChat(app, chatBody({ verdict: { n: 3 } }))).json();
    const calls = sim.requests.length;
    const generatorCalls = sim.requests.filter((r) => r.role === "generator").length;
    expect(calls).toBeGreaterThan(generatorCalls);
    expect(body.usage.prompt_tokens_details).toEqual({ cached_tokens: 5 * calls, audio_tokens: 0 });
    expect(body.usage.completion_tokens_details).toEqual({ reasoning_tokens: 7 * calls });
    expect(body.verdict.usage.generator.prompt_tokens_details).toEqual({ cached_tokens: 5 * generatorCalls, audio_tokens: 0 });
    expect(body.usage.total_tokens).toBe(body.usage.prompt_tokens + body.usage.completion_tokens);
  });

  it("reports them on /v1/responses as input and output token details", async () => {
    const { sim, fetch } = simWithBreakdowns();
    const { client } = harness({ deps: { fetch } });
    const response = await client.responses.create({ model: "sim-generator", input: "Why is the sky blue?", verdict: { n: 2 } } as never);
    const calls = sim.requests.length;
    expect(response.usage).toMatchObject({ input_tokens_details: { cached_tokens: 5 * calls }, output_tokens_details: { reasoning_tokens: 7 * calls } });
  });

  it("leaves usage without breakdowns when no upstream gave one", async () => {
    const { app } = harness();
    const body = await (await postChat(app, chatBody({ verdict: { n: 2 } }))).json();
    expect(Object.keys(body.usage).sort()).toEqual(["completion_tokens", "prompt_tokens", "total_tokens"]);
  });
});

describe("content as a list of parts", () => {
  const parts = [
    { type: "thinking", thinking: [{ type: "text", text: "The user wants a colour." }] },
    { type: "text", text: "Blue, because of Rayleigh scattering." },
  ];

  /** A generator whose every candidate is `parts`; the judge is the simulator's. */
  function partsUpstream() {
    const sim = createSimulator();
    const simFetch = fetchInto(sim.app);
    const fetch: typeof globalThis.fetch = async (input, init) => {
      const sent = JSON.parse(String(init?.body ?? "{}"));
      if (sent.model !== "sim-generator") return simFetch(input, init);
      const choices = Array.from({ length: sent.n ?? 1 }, (_, index) => ({ index, message: { role: "assistant", content: parts }, finish_reason: "stop" }));
      return Response.json({ id: "c", object: "chat.completion", created: 1, model: "m", choices, usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } });
    };
    return fetch;
  }

  it("streams a reranked answer's parts on its role chunk instead of dropping them", async () => {
    const { app } = harness({ deps: { fetch: partsUpstream() } });
    const response = await postChat(app, chatBody({ stream: true, verdict: { n: 2 } }));
    const decoder = createSSEDecoder();
    const events = decoder.push(await response.text()).filter((e) => e.data !== "[DONE]").map((e) => JSON.parse(e.data) as Any);
    const deltas = events.filter((e) => e.choices?.length).map((e) => e.choices[0].delta);
    expect(deltas[0]).toMatchObject({ role: "assistant", content: parts });
  });

  it("answers /v1/responses with the parts' text, without the marks a judge reads", async () => {
    const { client } = harness({ deps: { fetch: partsUpstream() } });
    const response = await client.responses.create({ model: "sim-generator", input: "Which colour?", verdict: { n: 2 } } as never);
    expect(response.output_text).toBe("Blue, because of Rayleigh scattering.");
  });
});

describe("spoken answers", () => {
  /** The simulator's candidates as spoken answers: no content, their words in audio.transcript, as OpenAI's audio models answer. */
  const spokenUpstream = () =>
    rewrittenGenerator((body) => {
      body.choices = body.choices.map((choice: Any, index: number) => ({
        ...choice,
        message: { role: "assistant", content: null, refusal: null, audio: { id: `audio_${index}`, data: "UklGRg==", expires_at: 1, transcript: choice.message.content } },
      }));
    });

  it("are judged by their transcripts, not excluded as empty, and the winner comes back with its audio", async () => {
    const { sim, fetch } = spokenUpstream();
    const { app } = harness({ deps: { fetch } });
    const body = await (await postChat(app, chatBody({ modalities: ["text", "audio"], audio: { voice: "alloy", format: "wav" }, verdict: { n: 3 } }))).json();
    expect(body.verdict.degraded).toBeUndefined();
    expect(body.verdict.judge.calls).toBeGreaterThan(0);
    expect(body.choices[0].message.content).toBeNull();
    expect(body.choices[0].message.audio).toMatchObject({ id: `audio_${body.verdict.winner}`, data: "UklGRg==" });
    const judged = sim.requests.filter((r) => r.role === "judge").map((r) => JSON.stringify(r.body));
    const winnerWords = body.choices[0].message.audio.transcript as string;
    expect(judged.some((prompt) => prompt.includes(JSON.stringify(winnerWords).slice(1, 40)))).toBe(true);
  });

  it("pass a guard's empty-answer check: a spoken answer is checked against the documents like a written one", async () => {
    const { sim, fetch } = spokenUpstream();
    const { app } = harness({ deps: { fetch } });
    const guarded = chatBody({ verdict: { n: 2, strategy: "guard", context: "The sky is blue because air scatters short wavelengths more." } });
    const body = await (await postChat(app, guarded)).json();
    expect(sim.requests.filter((r) => r.role === "judge")).toHaveLength(2);
    expect(body.verdict.checks).toHaveLength(2);
    for (const check of body.verdict.checks) expect(check.prefiltered).toBeUndefined();
  });
});

describe("fields verdict does not rebuild", () => {
  /** The simulator's generator, with service_tier on each completion and vLLM's stop_reason on each choice. */
  const extrasUpstream = () =>
    rewrittenGenerator((body) => {
      body.service_tier = "flex";
      body.choices = body.choices.map((choice: Any) => ({ ...choice, stop_reason: 128009 }));
    }).fetch;

  it("gives back the completion's service_tier and each choice's own fields", async () => {
    const { app } = harness({ deps: { fetch: extrasUpstream() } });
    const body = await (await postChat(app, chatBody({ n: 2, verdict: { n: 3 } }))).json();
    expect(body.service_tier).toBe("flex");
    expect(body.choices.map((choice: Any) => choice.stop_reason)).toEqual([128009, 128009]);
    expect(body.object).toBe("chat.completion");
  });

  it("streams them too: service_tier on every chunk, a choice's fields on its finish chunk", async () => {
    const { app } = harness({ deps: { fetch: extrasUpstream() } });
    const response = await postChat(app, chatBody({ stream: true, verdict: { n: 2 } }));
    const events = createSSEDecoder().push(await response.text()).filter((e) => e.data !== "[DONE]").map((e) => JSON.parse(e.data) as Any);
    const chunks = events.filter((e) => e.object === "chat.completion.chunk");
    expect(chunks.length).toBeGreaterThan(2);
    expect(chunks.every((chunk) => chunk.service_tier === "flex")).toBe(true);
    const finish = chunks.find((chunk) => chunk.choices[0]?.finish_reason)!;
    expect(finish.choices[0].stop_reason).toBe(128009);
  });
});

describe("upstream answers in other servers' shapes", () => {
  /** The simulator's judge, and a generator whose answer `answer` gives. */
  function generatorAnswering(answer: (sent: Any) => Response) {
    const sim = createSimulator();
    const simFetch = fetchInto(sim.app);
    const fetch: typeof globalThis.fetch = async (input, init) => {
      const sent = JSON.parse(String(init?.body ?? "{}"));
      return sent.model === "sim-generator" ? answer(sent) : simFetch(input, init);
    };
    return fetch;
  }

  it("keeps the message of a flat error body (SGLang's, older vLLM's) and of {\"error\": \"text\"}", async () => {
    for (const body of [{ object: "error", message: "n must be at most 4", type: "BadRequestError", code: 400 }, { error: "n must be at most 4" }]) {
      const { app } = harness({ deps: { fetch: generatorAnswering(() => Response.json(body, { status: 400 })) } });
      const response = await postChat(app, chatBody({ verdict: { n: 2 } }));
      expect(response.status).toBe(400);
      expect((await response.json()).error.message).toMatch(/n must be at most 4/);
    }
  });

  it("answers a redirect or a 304 from the generator with a 502, not as the client's fault", async () => {
    for (const status of [307, 304]) {
      const { app } = harness({ deps: { fetch: generatorAnswering(() => new Response(null, { status, headers: status === 307 ? { location: "http://10.0.0.9/v1/chat/completions" } : {} })) } });
      const response = await postChat(app, chatBody({ verdict: { n: 2 } }));
      expect(response.status).toBe(502);
      const { error } = await response.json();
      expect(error.type).toBe("upstream_error");
      expect(response.headers.get("location")).toBeNull();
    }
  });

  it("never follows a redirect with the runtime's own fetch (Workers'), which would send the prompt to another host", async () => {
    const reached: string[] = [];
    const elsewhere = createServer((req, res) => {
      reached.push(req.url ?? "");
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ id: "x", object: "chat.completion", created: 1, model: "m", choices: [] }));
    });
    await new Promise<void>((resolve) => elsewhere.listen(0, "127.0.0.1", resolve));
    const target = `http://127.0.0.1:${(elsewhere.address() as AddressInfo).port}`;
    const redirecting = createServer((req, res) => res.writeHead(307, { location: `${target}${req.url}` }).end());
    await new Promise<void>((resolve) => redirecting.listen(0, "127.0.0.1", resolve));
    try {
      // No fetch given: the app uses the global one, which follows redirects unless told not to.
      const app = createApp({ config: testConfig({ generator: { base_url: `http://127.0.0.1:${(redirecting.address() as AddressInfo).port}/v1` } }) });
      expect((await postChat(app, chatBody({ verdict: { n: 2 } }))).status).toBe(502);
      const passedThrough = await postChat(app, chatBody({ verdict: { n: 1 } }));
      expect(passedThrough.status).toBe(307); // relayed as the generator's answer, as on Node
      expect(reached).toEqual([]);
    } finally {
      elsewhere.close();
      redirecting.close();
    }
  });

  it("adds token counts written as strings as numbers", async () => {
    const fetch = generatorAnswering((sent) => Response.json({
      id: "c", object: "chat.completion", created: 1, model: "m",
      choices: Array.from({ length: sent.n ?? 1 }, (_, index) => ({ index, message: { role: "assistant", content: `answer ${index}` }, finish_reason: "stop" })),
      usage: { prompt_tokens: "5", completion_tokens: "3", total_tokens: "8" },
    }));
    const { app } = harness({ deps: { fetch } });
    const body = await (await postChat(app, chatBody({ verdict: { n: 2 } }))).json();
    expect(body.verdict.usage.generator).toEqual({ prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 });
    expect(typeof body.usage.total_tokens).toBe("number");
  });

  it("loses only the choice without a message, keeping the good ones beside it", async () => {
    const fetch = generatorAnswering(() => Response.json({
      id: "c", object: "chat.completion", created: 1, model: "m",
      choices: [
        { index: 0, message: { role: "assistant", content: "first" }, finish_reason: "stop" },
        { index: 1, message: null, finish_reason: "stop" },
        { index: 2, message: { role: "assistant", content: "third" }, finish_reason: "stop" },
      ],
    }));
    const { app } = harness({ deps: { fetch } });
    const body = await (await postChat(app, chatBody({ verdict: { n: 3 } }))).json();
    expect(body.verdict.n_candidates).toBe(2);
    expect(body.verdict.degraded).toBe("candidates_lost");
    expect(body.verdict.errors[0].message).toMatch(/without a message/);
  });
});
