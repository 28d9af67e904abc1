// Sampling: one call with `n` where the upstream allows it, parallel calls where it does not.
import { describe, expect, it } from "vitest";
import { bodyText, chatBody, fetchInto, harness, postChat } from "../helpers";
import { createSimulator } from "../sim/server";

/** The simulator behind a generator that refuses temperatures above 2 (whatever else the call asks) and, when told to,
 * ignores `n` (one choice per call) as some servers do. */
function pickyGenerator(options: { ignoresN?: boolean } = {}) {
  const sim = createSimulator();
  const calls: Array<{ n?: number; seed?: number }> = [];
  const fetch: typeof globalThis.fetch = async (input, init) => {
    const body = JSON.parse(bodyText(init) || "{}") as Record<string, unknown>;
    if (body.model === "sim-generator") {
      calls.push({ n: body.n as number | undefined, seed: body.seed as number | undefined });
      if (typeof body.temperature === "number" && body.temperature > 2) {
        const error = { message: "temperature must be at most 2", type: "invalid_request_error", param: "temperature", code: null };
        return Response.json({ error }, { status: 400 });
      }
      if (options.ignoresN) init = { ...init, body: JSON.stringify({ ...body, n: undefined }) };
    }
    return fetchInto(sim.app)(input, init);
  };
  return { fetch, calls };
}

describe("sampling", () => {
  it("draws N candidates with parallel calls when the upstream refuses n, and remembers it", async () => {
    const { app, sim } = harness({ sim: { supports_n: false } });
    const first = await postChat(app, chatBody({ verdict: { n: 4, return_candidates: true } }));
    expect(first.status).toBe(200);
    const body = await first.json();
    expect(body.verdict.n_candidates).toBe(4);
    expect(new Set(body.verdict.candidates.map((c: { message: { content: string } }) => c.message.content)).size).toBe(4);
    // One refused call with n, then four single draws.
    expect(sim.requests.filter((r) => r.role === "generator").map((r) => r.body.n ?? 1)).toEqual([4, 1, 1, 1, 1]);

    await postChat(app, chatBody({ verdict: { n: 3 } }));
    expect(sim.count("generator")).toBe(5 + 3);
  });

  it("remembers a refusal of n for that kind of request only: a greedy request's does not stop n for sampled ones", async () => {
    // As vLLM: n > 1 is refused with temperature 0 alone.
    const sim = createSimulator();
    const simFetch = fetchInto(sim.app);
    const sent: { n: number; temperature: unknown }[] = [];
    const fetch: typeof globalThis.fetch = async (input, init) => {
      const body = JSON.parse(String(init?.body ?? "{}"));
      if (body.model !== "sim-generator") return simFetch(input, init);
      sent.push({ n: body.n ?? 1, temperature: body.temperature });
      if ((body.n ?? 1) > 1 && body.temperature === 0) return Response.json({ error: { message: "best_of must be 1 when using greedy sampling" } }, { status: 400 });
      return simFetch(input, init);
    };
    const { app } = harness({ deps: { fetch } });
    const ns = async (extra: Record<string, unknown>) => {
      const before = sent.length;
      expect((await postChat(app, chatBody({ ...extra, verdict: { n: 3 } }))).status).toBe(200);
      return sent.slice(before).map((s) => s.n);
    };
    expect(await ns({ temperature: 0 })).toEqual([3, 1, 1, 1]); // refused once, then single draws
    expect(await ns({ temperature: 0.7 })).toEqual([3]); // another kind of request keeps its one call with n
    expect(await ns({})).toEqual([3]);
    expect(await ns({ temperature: 0 })).toEqual([1, 1, 1]); // remembered for its own kind
  });

  it("remembers a refusal of n beside another parameter for requests that set it only", async () => {
    // As OpenAI's Predicted Outputs: n > 1 is refused when `prediction` comes with it.
    const sim = createSimulator();
    const simFetch = fetchInto(sim.app);
    const sent: number[] = [];
    const fetch: typeof globalThis.fetch = async (input, init) => {
      const body = JSON.parse(String(init?.body ?? "{}"));
      if (body.model !== "sim-generator") return simFetch(input, init);
      sent.push(body.n ?? 1);
      if ((body.n ?? 1) > 1 && body.prediction) {
        return Response.json({ error: { message: "Predicted Outputs does not support n > 1", type: "invalid_request_error", param: "n" } }, { status: 400 });
      }
      return simFetch(input, init);
    };
    const { app } = harness({ deps: { fetch } });
    const ns = async (extra: Record<string, unknown>) => {
      const before = sent.length;
      expect((await postChat(app, chatBody({ ...extra, verdict: { n: 3 } }))).status).toBe(200);
      return sent.slice(before);
    };
    const prediction = { prediction: { type: "content", content: "The sky" } };
    expect(await ns(prediction)).toEqual([3, 1, 1, 1]);
    expect(await ns({})).toEqual([3]); // another client's plain request still gets its one call with n
    expect(await ns(prediction)).toEqual([1, 1, 1]);
    // Settings that come and go (user, seed) do not make it another kind to learn again.
    expect(await ns({ ...prediction, user: "u-1", seed: 4 })).toEqual([1, 1, 1]);
  });

  it("uses parallel calls from the start when config says supports_n is false, with a distinct seed each", async () => {
    const { app, sim } = harness({ config: { generator: { supports_n: false } } });
    const response = await postChat(app, chatBody({ seed: 100, verdict: { n: 3 } }));
    expect(response.status).toBe(200);
    const draws = sim.requests.filter((r) => r.role === "generator");
    expect(draws.map((r) => r.body.seed).sort()).toEqual([100, 101, 102]);
    expect(draws.every((r) => r.body.n === undefined)).toBe(true);
  });

  it("forwards every other request field unchanged to the generator", async () => {
    const { app, sim } = harness();
    const extra = {
      temperature: 0.7,
      top_p: 0.9,
      seed: 3,
      user: "u-1",
      metadata: { team: "a" },
      tools: [{ type: "function", function: { name: "lookup", parameters: { type: "object", properties: {} } } }],
      response_format: { type: "text" },
      some_future_field: [1, 2],
    };
    await postChat(app, chatBody({ ...extra, verdict: { n: 2 } }));
    const sent = sim.requests.find((r) => r.role === "generator")!.body;
    expect(sent).toMatchObject({ ...extra, n: 2, model: "sim-generator" });
    expect(sent).not.toHaveProperty("verdict");
    expect(sent).not.toHaveProperty("stream");
  });

  it("merges identical candidates and makes no judge call when all are the same", async () => {
    const { app, sim } = harness({ sim: { generator: { variants: 1 } } });
    const response = await postChat(app, chatBody({ verdict: { n: 4, return_candidates: true } }));
    const body = await response.json();
    expect(body.verdict.n_candidates).toBe(4);
    expect(body.verdict.judge.calls).toBe(0);
    expect(sim.count("judge")).toBe(0);
    expect(body.verdict.candidates[0].duplicates).toEqual([1, 2, 3]);
    expect(response.headers.get("x-verdict-judge-calls")).toBe("0");
  });

  it("judges only distinct candidates: two variants among four draws is one match", async () => {
    const { app, sim } = harness({ sim: { generator: { variants: 2 } }, config: { generator: { supports_n: false } } });
    const response = await postChat(app, chatBody({ seed: 10, verdict: { n: 4 } }));
    const body = await response.json();
    expect(body.verdict.judge.calls).toBe(2);
    expect(sim.count("judge")).toBe(2);
  });

  it("a request refused for another reason does not turn n off for later requests, and is not fanned out", async () => {
    const generator = pickyGenerator();
    const { app } = harness({ deps: { fetch: generator.fetch } });
    const bad = await postChat(app, chatBody({ temperature: 5, verdict: { n: 4 } }));
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.param).toBe("temperature");
    // The `n` call, then one call without it that gets the same 400: not four.
    expect(generator.calls.map((c) => c.n ?? 1)).toEqual([4, 1]);

    generator.calls.length = 0;
    expect((await postChat(app, chatBody({ verdict: { n: 4 } }))).status).toBe(200);
    expect(generator.calls.map((c) => c.n ?? 1)).toEqual([4]);
  });

  it("a generator that ignores n is topped up with seeds past the one its n call used", async () => {
    const generator = pickyGenerator({ ignoresN: true });
    const { app } = harness({ deps: { fetch: generator.fetch } });
    const response = await postChat(app, chatBody({ seed: 7, verdict: { n: 4, return_candidates: true } }));
    expect(response.status).toBe(200);
    expect(generator.calls.map((c) => c.seed)).toEqual([7, 8, 9, 10]);
    const body = await response.json();
    expect(body.verdict.candidates.some((c: { duplicates?: number[] }) => c.duplicates)).toBe(false);
  });
});

/** The simulator as judge; a generator answering with `choicesFor(call number, n)`, as JSON whatever was asked. */
function oddGenerator(choicesFor: (call: number, n: number) => unknown[]) {
  const sim = createSimulator();
  let calls = 0;
  const fetch: typeof globalThis.fetch = async (input, init) => {
    const body = JSON.parse(bodyText(init) || "{}") as Record<string, unknown>;
    if (body.model !== "sim-generator") return fetchInto(sim.app)(input, init);
    calls += 1;
    const choices = choicesFor(calls, typeof body.n === "number" ? body.n : 1);
    const usage = { prompt_tokens: 1, completion_tokens: choices.length, total_tokens: 1 + choices.length };
    // Each call's own fields, as vLLM's disaggregated serving sends them: they belong to its answer alone.
    return Response.json({ id: `gen-${calls}`, object: "chat.completion", created: 1, model: "sim-generator", choices, usage, kv_transfer_params: { id: `kv-${calls}` } });
  };
  return { fetch, calls: () => calls };
}
const answer = (i: number, text: string) => ({ index: i, message: { role: "assistant", content: text }, finish_reason: "stop" });

describe("answers that hold no usable candidate", () => {

  it.each([false, true])("a choice without a message is lost and reported, not drawn again (stream_sampling: %s)", async (stream_sampling) => {
    const generator = oddGenerator((call, n) => Array.from({ length: n }, (_, i) => (i === 1 ? { index: i, message: null, finish_reason: "stop" } : answer(i, `answer ${call}.${i}`))));
    const { app } = harness({ config: { generator: { stream_sampling, supports_n: true } }, deps: { fetch: generator.fetch } });
    const body = await (await postChat(app, chatBody({ verdict: { n: 3 } }))).json();
    expect(generator.calls()).toBe(1);
    expect(body.verdict).toMatchObject({ n_candidates: 2, degraded: "candidates_lost" });
    expect(body.verdict.errors).toEqual([{ status: 502, message: "generator upstream sent a choice without a message" }]);
  });

  it("a single draw answered without any choice is lost and reported, and its error is what a short request gets", async () => {
    const generator = oddGenerator((call) => (call % 4 === 2 ? [] : [answer(0, `answer ${call}`)])); // one draw of every four
    const { app } = harness({ config: { generator: { supports_n: false } }, deps: { fetch: generator.fetch } });
    const body = await (await postChat(app, chatBody({ verdict: { n: 4 } }))).json();
    expect(body.verdict).toMatchObject({ n_candidates: 3, degraded: "candidates_lost" });
    expect(body.verdict.errors).toEqual([{ status: 502, message: "generator upstream answered without a choice" }]);
    // Four asked for and four required: the client hears why one is missing, not that none came.
    const short = await postChat(app, chatBody({ verdict: { n: 4, min_candidates: 4 } }));
    expect(short.status).toBe(502);
    expect((await short.json()).error.code).toBe("generator_bad_response");
  });

  it("an error sent with a 200 is that error, with its message, and is not drawn again", async () => {
    const sim = createSimulator();
    let calls = 0;
    const fetch: typeof globalThis.fetch = async (input, init) => {
      if (JSON.parse(bodyText(init) || "{}").model !== "sim-generator") return fetchInto(sim.app)(input, init);
      calls += 1;
      return Response.json({ error: { message: "CUDA out of memory", type: "server_error", code: null } });
    };
    const { app } = harness({ config: { generator: { supports_n: true, max_retries: 0 } }, deps: { fetch } });
    const response = await postChat(app, chatBody({ verdict: { n: 4 } }));
    expect(response.status).toBe(502);
    expect((await response.json()).error.message).toMatch(/CUDA out of memory/);
    expect(calls).toBe(1);
  });

  it("a candidate longer than limits.max_candidate_chars is lost and reported, not held and judged", async () => {
    const generator = oddGenerator((call, n) => Array.from({ length: n }, (_, i) => answer(i, i === 0 ? "y".repeat(101) : `answer ${call}.${i}`)));
    const limits = { max_candidate_chars: 100 };
    const { app } = harness({ config: { limits, generator: { supports_n: true } }, deps: { fetch: generator.fetch } });
    const body = await (await postChat(app, chatBody({ verdict: { n: 3 } }))).json();
    expect(body.verdict).toMatchObject({ n_candidates: 2, degraded: "candidates_lost" });
    expect(body.verdict.errors).toEqual([{ status: 502, message: "generator upstream sent a candidate of 101 characters, more than limits.max_candidate_chars (100)" }]);
    expect(body.choices[0].message.content).not.toContain("yyy");
    // Reasoning beside the content counts too: it is held with the candidate all the same.
    const reasoning = oddGenerator((_, n) => Array.from({ length: n }, (__, i) => ({ ...answer(i, `short ${i}`), message: { role: "assistant", content: `short ${i}`, reasoning_content: i === 0 ? "r".repeat(100) : "ok" } })));
    const reasoned = await (await postChat(harness({ config: { limits, generator: { supports_n: true } }, deps: { fetch: reasoning.fetch } }).app, chatBody({ verdict: { n: 3 } }))).json();
    expect(reasoned.verdict).toMatchObject({ n_candidates: 2, degraded: "candidates_lost" });
    // Every candidate too long: the client hears why.
    const alone = harness({ config: { limits, generator: { supports_n: true } }, deps: { fetch: oddGenerator((_, n) => Array.from({ length: n }, (__, i) => answer(i, "z".repeat(200)))).fetch } });
    const refused = await postChat(alone.app, chatBody({ verdict: { n: 2 } }));
    expect(refused.status).toBe(502);
    expect((await refused.json()).error.code).toBe("candidate_too_long");
  });
});

describe("reasoning written inline", () => {
  it("is neither judged nor voted on, and the winner keeps it", async () => {
    const texts = ["<think>First guess. Answer: 12? Recheck 3*5.</think>\nSo the total is 15.", "<think>Count again.</think>\nThere are 15.", "<think>Quick.</think>\n12"];
    const generator = oddGenerator((_, n) => Array.from({ length: n }, (__, i) => answer(i, texts[i]!)));
    const { app } = harness({ config: { generator: { supports_n: true } }, deps: { fetch: generator.fetch } });
    const body = await (await postChat(app, chatBody({ verdict: { n: 3, strategy: "consistency", tie_break: "rule" } }))).json();
    expect(body.verdict.rationale).toBe("2 of 3 candidates agree on this answer.");
    expect(texts.slice(0, 2)).toContain(body.choices[0].message.content);
  });

  it("is taken up to a bare closing tag when the operator says the chat template opens the block", async () => {
    // DeepSeek-R1's template writes "<think>" into the prompt, so the answer holds only the closing tag.
    const texts = ["First guess. Answer: 11.</think>\nSo the total is 15.", "Answer: 12.</think>\nThere are 15.", "Answer: 13.</think>\n14"];
    const generator = oddGenerator((_, n) => Array.from({ length: n }, (__, i) => answer(i, texts[i]!)));
    const ask = (inline_reasoning?: string) =>
      harness({ config: { generator: { supports_n: true, ...(inline_reasoning ? { inline_reasoning } : {}) } }, deps: { fetch: generator.fetch } });
    const request = chatBody({ verdict: { n: 3, strategy: "consistency", tie_break: "rule" } });
    const told = await (await postChat(ask("opened_by_template").app, request)).json();
    expect(told.verdict.rationale).toBe("2 of 3 candidates agree on this answer.");
    expect(texts.slice(0, 2)).toContain(told.choices[0].message.content);
    // Not told, the whole texts are compared: the three guesses inside the reasoning are read as the answers.
    const untold = await (await postChat(ask().app, request)).json();
    expect(untold.verdict.rationale).not.toBe("2 of 3 candidates agree on this answer.");
  });

  it("is checked by a guard, since the user reads it too", async () => {
    const thinking = "<think>The bridge was painted red in 1932, I recall.</think>\nThe bridge opened in 1933.";
    const generator = oddGenerator((_, n) => Array.from({ length: n }, (__, i) => answer(i, thinking)));
    const checked: string[] = [];
    const fetch: typeof globalThis.fetch = (input, init) => {
      const text = bodyText(init);
      if (text.includes("<ANSWER>")) checked.push(text);
      return generator.fetch(input, init);
    };
    const { app } = harness({ config: { generator: { supports_n: true } }, deps: { fetch } });
    await postChat(app, chatBody({ verdict: { strategy: "guard", n: 2, context: "The bridge opened in 1933." } }));
    expect(checked.length).toBeGreaterThan(0);
    expect(checked.every((body) => body.includes("painted red in 1932"))).toBe(true);
  });
});

describe("no usable candidate", () => {
  it("returns the best of them alone, however many choices were asked for, and reports no errors it did not meet", async () => {
    const generator = oddGenerator((_, n) => Array.from({ length: n }, (__, i) => ({ ...answer(i, `cut off ${"x".repeat(i)}`), finish_reason: "length" })));
    const { app } = harness({ config: { generator: { supports_n: true } }, deps: { fetch: generator.fetch } });
    const body = await (await postChat(app, chatBody({ n: 2, verdict: { n: 3 } }))).json();
    expect(body.choices).toHaveLength(1);
    expect(body.verdict.degraded).toBe("no_usable_candidates");
    expect(body.verdict).not.toHaveProperty("errors");
  });
});

describe("reasoning kept beside the content", () => {
  it("is left out of a guarded answer, which holds only what the judge checked", async () => {
    const unchecked = "First for Women was started first, in 1989.";
    const generator = oddGenerator((_, n) =>
      Array.from({ length: n }, (__, i) => ({
        index: i,
        message: {
          role: "assistant",
          content: i === 0 ? "The bridge opened in 1933." : [{ type: "thinking", thinking: unchecked }, { type: "text", text: "The bridge opened in 1933." }],
          reasoning_content: unchecked,
          reasoning: unchecked,
        },
        finish_reason: "stop",
      })),
    );
    const { app } = harness({ config: { generator: { supports_n: true } }, deps: { fetch: generator.fetch } });
    const guarded = { strategy: "guard", n: 2, context: "The bridge opened in 1933.", return_candidates: true };
    for (const stream of [false, true]) {
      const response = await postChat(app, chatBody({ stream, n: 2, verdict: guarded }));
      const text = await response.text();
      expect([stream, response.status]).toEqual([stream, 200]);
      expect(text).toContain("opened in 1933");
      expect([stream, text]).not.toEqual([stream, expect.stringContaining("1989")]);
    }
    // Not guarded, the reasoning comes back as it was written.
    const plain = await (await postChat(app, chatBody({ verdict: { n: 2 } }))).json();
    expect(plain.choices[0].message.reasoning_content).toBe(unchecked);
  });
});

describe("the answer's own call", () => {
  it("gives the winner's id and completion fields, not those of the first call to finish", async () => {
    // Parallel single draws: the first call's candidate loses the vote to the other two.
    const generator = oddGenerator((call) => [answer(0, call === 1 ? "7" : "8")]);
    const { app } = harness({ config: { generator: { supports_n: false } }, deps: { fetch: generator.fetch } });
    const body = await (await postChat(app, chatBody({ verdict: { n: 3, strategy: "consistency", tie_break: "rule" } }))).json();
    expect(body.choices[0].message.content).toBe("8");
    expect(["gen-2", "gen-3"]).toContain(body.id);
    expect(body.kv_transfer_params).toEqual({ id: body.id.replace("gen", "kv") });
  });
});
