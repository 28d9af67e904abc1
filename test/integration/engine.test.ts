// The judging engine end to end against the simulator: rubric, cache, queue bounds, logprobs, plain-text judges.
import { describe, expect, it, vi } from "vitest";
import { qualityOf } from "../sim/random";
import { bodyText, chatBody, fetchInto, harness, postChat } from "../helpers";
import { createSimulator } from "../sim/server";

const judgeRequests = (sim: ReturnType<typeof harness>["sim"]) => sim.requests.filter((r) => r.role === "judge");

describe("rubric through the simulator", () => {
  it("returns the candidate the perfect judge grades highest, with normalised scores", async () => {
    const { app, sim } = harness();
    const response = await postChat(app, chatBody({ verdict: { n: 4, strategy: "rubric", scale: 10, return_candidates: true } }));
    const body = await response.json();
    expect(response.status).toBe(200);
    expect(body.verdict.judge.calls).toBe(4);
    const grade = (text: string) => Math.min(10, 1 + Math.floor(qualityOf(text) * 10));
    const texts: string[] = body.verdict.candidates.map((c: { message: { content: string } }) => c.message.content);
    const best = Math.max(...texts.map(grade));
    expect(grade(body.choices[0].message.content)).toBe(best);
    expect(body.verdict.scores[body.verdict.winner]).toBeCloseTo((best - 1) / 9);
    expect(body.verdict.rationale).toMatch(new RegExp(`^Scored ${best}/10`));
    expect(judgeRequests(sim)[0]!.body.response_format).toMatchObject({ type: "json_schema" });
  });

  it("uses the rubric from the request", async () => {
    const { app, sim } = harness();
    await postChat(app, chatBody({ verdict: { n: 2, strategy: "rubric", rubric: "Mentions Rayleigh scattering." } }));
    expect(JSON.stringify(judgeRequests(sim)[0]!.body.messages)).toContain("Mentions Rayleigh scattering.");
  });
});

describe("judgment cache", () => {
  it("makes no judge call for a repeated identical request, and reports the hits", async () => {
    const { app, sim } = harness();
    const request = chatBody({ seed: 42, verdict: { n: 4, tournament: "knockout" } });
    const first = await (await postChat(app, request)).json();
    expect(first.verdict.judge).toMatchObject({ calls: 6, cache_hits: 0 });
    const second = await postChat(app, request);
    const body = await second.json();
    expect(body.verdict.judge).toMatchObject({ calls: 0, cache_hits: 6 });
    expect(second.headers.get("x-verdict-cache-hits")).toBe("6");
    expect(body.choices[0].message.content).toBe(first.choices[0].message.content);
    expect(body.verdict.usage.judge.total_tokens).toBe(0);
    expect(judgeRequests(sim)).toHaveLength(6);
  });

  it("asks the judge once for identical requests sent at the same moment: the others wait for its judgments", async () => {
    const { app, sim } = harness({ sim: { judge: { latency: { ttft_ms: 30 } } } });
    const request = chatBody({ seed: 43, verdict: { n: 4, tournament: "knockout" } });
    type Answer = { verdict: { judge: { calls: number; cache_hits: number } }; choices: { message: { content: string } }[] };
    const answers = await Promise.all(Array.from({ length: 5 }, async () => (await (await postChat(app, request)).json()) as Answer));
    expect(judgeRequests(sim)).toHaveLength(6);
    expect(answers.reduce((sum, a) => sum + a.verdict.judge.calls, 0)).toBe(6);
    expect(answers.reduce((sum, a) => sum + a.verdict.judge.cache_hits, 0)).toBe(4 * 6);
    expect(new Set(answers.map((a) => a.choices[0]!.message.content)).size).toBe(1);
  });

  it("shares nothing in flight with a request that bypasses the cache", async () => {
    const { app, sim } = harness({ sim: { judge: { latency: { ttft_ms: 30 } } } });
    const cached = chatBody({ seed: 44, verdict: { n: 2 } });
    const uncached = chatBody({ seed: 44, verdict: { n: 2, cache: false } });
    await Promise.all([postChat(app, cached), postChat(app, uncached)]);
    expect(judgeRequests(sim)).toHaveLength(4);
  });

  it("is bypassed with verdict.cache = false", async () => {
    const { app, sim } = harness();
    const request = chatBody({ seed: 42, verdict: { n: 2 } });
    await postChat(app, request);
    const again = await (await postChat(app, chatBody({ seed: 42, verdict: { n: 2, cache: false } }))).json();
    expect(again.verdict.judge).toMatchObject({ calls: 2, cache_hits: 0 });
    expect(judgeRequests(sim)).toHaveLength(4);
  });

  it("keys on the order of the inputs: the swapped order is its own entry", async () => {
    const { app } = harness();
    const body = await (await postChat(app, chatBody({ seed: 9, verdict: { n: 2 } }))).json();
    expect(body.verdict.judge).toMatchObject({ calls: 2, cache_hits: 0 });
  });
});

describe("judge queue", () => {
  it("answers 429 with retry-after when more judge work waits than allowed, failing closed", async () => {
    const { app } = harness({
      sim: { judge: { latency: { ttft_ms: 50 } } },
      config: { judge: { concurrency: 1, max_queued: 1, on_error: "fail_closed" } },
    });
    const response = await postChat(app, chatBody({ verdict: { n: 4, tournament: "round_robin" } }));
    expect(response.status).toBe(429);
    expect(response.headers.get("retry-after")).toBe("1");
    expect((await response.json()).error).toMatchObject({ type: "rate_limit_error", code: "queue_full" });
  });

  it("failing open, answers candidates already drawn unjudged when the judge queue overflows, and says why", async () => {
    const { app } = harness({ sim: { judge: { latency: { ttft_ms: 50 } } }, config: { judge: { concurrency: 1, max_queued: 1 } } });
    const response = await postChat(app, chatBody({ verdict: { n: 4, tournament: "round_robin" } }));
    expect(response.status).toBe(200);
    const { verdict } = await response.json();
    expect(verdict).toMatchObject({ degraded: "judge_unavailable", judge_error: { status: 429, message: "verdict's judge queue is full; retry shortly" } });
  });

  it("refuses a request the full judge queue could not take before drawing its candidates, not after paying for them", async () => {
    const { app, sim } = harness({ sim: { judge: { latency: { ttft_ms: 300 } } }, config: { judge: { concurrency: 1, max_queued: 1 } } });
    // Fills the judge: two orders of one match, one call running and one waiting.
    const first = postChat(app, chatBody({ verdict: { n: 2 } }));
    await vi.waitFor(() => expect(sim.count("judge")).toBe(1));
    const drawsBefore = sim.count("generator");
    const refused = await postChat(app, chatBody({ verdict: { n: 4 } }));
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toBe("1");
    expect((await refused.json()).error).toMatchObject({ type: "rate_limit_error", code: "queue_full" });
    expect(sim.count("generator")).toBe(drawsBefore);
    // Consistency needs no judge unless two answers tie: it is drawn and answered.
    const consistency = await postChat(app, chatBody({ verdict: { n: 3, strategy: "consistency", tie_break: "rule" } }));
    expect(consistency.status).toBe(200);
    expect((await first).status).toBe(200);
  });

  it("lets the same work through when the queue has room", async () => {
    const { app } = harness({ sim: { judge: { latency: { ttft_ms: 5 } } }, config: { judge: { concurrency: 2, max_queued: 100 } } });
    const response = await postChat(app, chatBody({ verdict: { n: 4, tournament: "round_robin" } }));
    expect(response.status).toBe(200);
  });
});

describe("round-robin finale", () => {
  it("is asked for with verdict.finale and refused with the param named when misspelt", async () => {
    const { app } = harness({ config: { generator: { supports_n: false } } });
    const response = await postChat(app, chatBody({ verdict: { n: 5, tournament: "knockout", finale: "round_robin" } }));
    expect(response.status).toBe(200);
    // The survivors' Copeland scores come back (a plain knockout has none), the winner on top.
    const { verdict } = await response.json();
    const scores = Object.values(verdict.scores as Record<string, number>);
    expect(scores.length).toBeGreaterThanOrEqual(3);
    expect(verdict.scores[verdict.winner]).toBe(Math.max(...scores));
    const refused = await postChat(app, chatBody({ verdict: { n: 5, finale: "round-robin" } }));
    expect(refused.status).toBe(400);
    expect((await refused.json()).error.param).toBe("verdict.finale");
  });
});

describe("judge output handling", () => {
  it("reads soft verdicts from logprobs when judge.logprobs is on", async () => {
    const { app, sim } = harness({ config: { judge: { logprobs: true } } });
    const body = await (await postChat(app, chatBody({ verdict: { n: 3, tournament: "knockout" } }))).json();
    expect(judgeRequests(sim)[0]!.body).toMatchObject({ logprobs: true, top_logprobs: 5 });
    const softs = body.verdict.matches.map((m: { p_a: number }) => m.p_a);
    expect(softs.some((p: number) => p > 0.5 && p < 1)).toBe(true);
  });

  it("stops asking for structured output only when the judge refuses response_format itself", async () => {
    const sim = createSimulator();
    const inner = fetchInto(sim.app);
    let judged: { response_format?: unknown }[] = [];
    const judgeAnswering = (refusal: () => Response | null): typeof globalThis.fetch => (input, init) => {
      const body = JSON.parse(bodyText(init) || "{}");
      if (body.model !== "sim-judge") return inner(input, init);
      judged.push(body);
      return Promise.resolve(refusal() ?? inner(input, init));
    };
    const error = (message: string, param: string) =>
      new Response(JSON.stringify({ error: { message, type: "invalid_request_error", param } }), { status: 400, headers: { "content-type": "application/json" } });

    // One request past the judge's context length: a 400 about that request, not about response_format.
    let once = true;
    const tooLong = harness({ deps: { fetch: judgeAnswering(() => (once ? ((once = false), error("maximum context length is 8192 tokens", "messages")) : null)) } });
    await postChat(tooLong.app, chatBody({ verdict: { n: 2 } }));
    judged = [];
    await postChat(tooLong.app, chatBody({ seed: 2, verdict: { n: 2 } }));
    expect(judged.length).toBeGreaterThan(0);
    expect(judged.every((b) => b.response_format !== undefined)).toBe(true);

    // A server without guided decoding: asked again without it, and not asked with it from then on.
    judged = [];
    const refusing = harness({
      deps: { fetch: judgeAnswering(() => (judged.at(-1)?.response_format !== undefined ? error("response_format json_schema is not supported", "response_format") : null)) },
    });
    const answered = await postChat(refusing.app, chatBody({ verdict: { n: 2 } }));
    expect(answered.status).toBe(200);
    expect((await answered.json()).verdict.judge.unparsed).toBe(0);
    expect(judged.at(-1)!.response_format).toBeUndefined();

    // vLLM's refusal through xgrammar names neither the field nor response_format.
    judged = [];
    const xgrammar = harness({
      deps: {
        fetch: judgeAnswering(() =>
          judged.at(-1)?.response_format !== undefined ? error("The provided JSON schema contains features not supported by xgrammar.", null as never) : null,
        ),
      },
    });
    const vllm = await (await postChat(xgrammar.app, chatBody({ verdict: { n: 2 } }))).json();
    expect(vllm.verdict.degraded).toBeUndefined();
    expect(judged.at(-1)!.response_format).toBeUndefined();
  });

  it("works with a judge that cannot do structured output and answers in prose", async () => {
    const { app, sim } = harness({ sim: { judge: { style: "text" } }, config: { judge: { structured_output: false } } });
    const body = await (await postChat(app, chatBody({ verdict: { n: 2 } }))).json();
    expect(body.verdict.judge.unparsed).toBe(0);
    expect(body.verdict.rationale).toMatch(/Simulated judge/);
    expect(judgeRequests(sim).every((r) => r.body.response_format === undefined)).toBe(true);
  });
});

describe("rematches against a real judge server", () => {
  it("ask again with a sampling temperature and a seed, and are cached apart from the first look", async () => {
    const { app, sim } = harness({ sim: { judge: { bias: 1 } } });
    const body = await (await postChat(app, chatBody({ seed: 5, verdict: { n: 2 } }))).json();
    const judged = judgeRequests(sim);
    expect(judged).toHaveLength(4);
    expect(judged.slice(0, 2).map((r) => r.body.temperature)).toEqual([0, 0]);
    expect(judged.slice(2).map((r) => [r.body.temperature, r.body.seed])).toEqual([[0.7, 1], [0.7, 1]]);
    expect(body.verdict.matches[0].rematches).toBe(1);
    const again = await (await postChat(app, chatBody({ seed: 5, verdict: { n: 2 } }))).json();
    expect(again.verdict.judge).toMatchObject({ calls: 0, cache_hits: 4 });
  });

  it("keeps max_judge_calls as a cap on calls, an unreadable answer asked for again included", async () => {
    const sim = createSimulator();
    const inner = fetchInto(sim.app);
    let judgeCalls = 0;
    // A judge whose every answer is unreadable: without a cap each judgment is asked for twice.
    const unreadable = JSON.stringify({ id: "x", object: "chat.completion", created: 1, model: "sim-judge", choices: [{ index: 0, message: { role: "assistant", content: "I cannot decide." }, finish_reason: "stop" }], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } });
    const fetch: typeof globalThis.fetch = (input, init) => {
      if (!bodyText(init).includes('"model":"sim-judge"')) return inner(input, init);
      judgeCalls += 1;
      return Promise.resolve(new Response(unreadable, { status: 200, headers: { "content-type": "application/json" } }));
    };
    const { app } = harness({ deps: { fetch } });
    const capped = await (await postChat(app, chatBody({ verdict: { n: 4, max_judge_calls: 7 } }))).json();
    expect(capped.verdict.judge.calls).toBe(judgeCalls);
    expect(judgeCalls).toBe(7);
    judgeCalls = 0;
    const uncapped = await (await postChat(app, chatBody({ verdict: { n: 4, tournament: "knockout", cache: false } }))).json();
    expect(judgeCalls).toBe(12); // 6 judgments, each asked twice
    expect(uncapped.verdict.judge.unparsed).toBe(6);
    judgeCalls = 0;
    await postChat(app, chatBody({ verdict: { n: 3, tournament: "round_robin", max_judge_calls: 7, cache: false } }));
    expect(judgeCalls).toBe(7); // the 6 a round-robin of 3 needs, and one unreadable answer asked for again
  });

  it("refuses a judge-call cap below what the tournament needs, a guard's inner one included", async () => {
    const { app } = harness();
    const response = await postChat(app, chatBody({ verdict: { n: 4, max_judge_calls: 5 } }));
    expect(response.status).toBe(400);
    expect((await response.json()).error.param).toBe("verdict.max_judge_calls");
    const guarded = await postChat(app, chatBody({ verdict: { strategy: "guard", context: "Documents.", n: 4, max_judge_calls: 2 } }));
    expect(guarded.status).toBe(400);
    expect((await guarded.json()).error.param).toBe("verdict.max_judge_calls");
  });

  it("refuses an option the request sets for a strategy it does not run, instead of ignoring it", async () => {
    const { app, sim } = harness({ config: { defaults: { tournament: "knockout" } } });
    const capped = await postChat(app, chatBody({ verdict: { n: 6, strategy: "consistency", max_judge_calls: 2 } }));
    expect(capped.status).toBe(400);
    expect((await capped.json()).error).toMatchObject({ param: "verdict.max_judge_calls", code: "option_not_applicable", message: "verdict.max_judge_calls does not apply to strategy consistency" });
    const rubricTournament = await (await postChat(app, chatBody({ verdict: { n: 2, strategy: "rubric", tournament: "round_robin" } }))).json();
    expect(rubricTournament.error.param).toBe("verdict.tournament");
    const unjudged = await (await postChat(app, chatBody({ verdict: { strategy: "none", rubric: "Be brief." } }))).json();
    expect(unjudged.error.param).toBe("verdict.rubric");
    // Within pairwise: only auto replays split matches, and a round-robin has no finale.
    const replays = await (await postChat(app, chatBody({ verdict: { n: 2, tournament: "knockout", rematches: 3 } }))).json();
    expect(replays.error).toMatchObject({ param: "verdict.rematches", code: "option_not_applicable", message: "verdict.rematches does not apply to tournament knockout" });
    const finale = await (await postChat(app, chatBody({ verdict: { n: 2, tournament: "round_robin", finale: "round_robin" } }))).json();
    expect(finale.error).toMatchObject({ param: "verdict.finale", code: "option_not_applicable" });
    // The deployment's default tournament (knockout) with rematches the request asks for: refused too, named.
    expect((await postChat(app, chatBody({ verdict: { n: 2, rematches: 1 } }))).status).toBe(400);
    expect(sim.count("generator")).toBe(0);
    // A guard's inner strategy reads its own options; the deployment's default tournament is no request's doing.
    const inner = await postChat(app, chatBody({ verdict: { strategy: "guard", context: "Documents.", n: 2, inner: "pairwise", tournament: "round_robin" } }));
    expect(inner.status).toBe(200);
    const rubric = await postChat(app, chatBody({ verdict: { n: 2, strategy: "rubric" } }));
    expect(rubric.status).toBe(200);
  });
});

describe("consistency through the simulator", () => {
  it("returns the majority answer without a judge call", async () => {
    const { app, sim } = harness({ sim: { generator: { variants: 2 } }, config: { generator: { supports_n: false } } });
    // Seeds 20..24 give variants 0,1,0,1,0: three votes for one text, two for the other.
    const body = await (await postChat(app, chatBody({ seed: 20, verdict: { n: 5, strategy: "consistency", answer: "text", return_candidates: true } }))).json();
    expect(body.verdict.judge.calls).toBe(0);
    expect(judgeRequests(sim)).toHaveLength(0);
    expect(body.verdict.rationale).toBe("3 of 5 candidates agree on this answer.");
    const majority = body.verdict.candidates.find((c: { index: number }) => c.index === 0).message.content;
    expect(body.choices[0].message.content).toBe(majority);
  });
});

describe("judge calls counted as the judge answered them", () => {
  const judgeBody = (init: RequestInit | undefined) => JSON.parse(bodyText(init) || "{}");
  const completion = (content: string, tokens: number) =>
    Response.json({ id: "j", object: "chat.completion", created: 1, model: "sim-judge", choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }], usage: { prompt_tokens: tokens, completion_tokens: 0, total_tokens: tokens } });

  it("counts an unreadable answer that was asked again when the second ask fails: it was answered and billed", async () => {
    const sim = createSimulator();
    const inner = fetchInto(sim.app);
    // The pair's two orders: the first seen is answered (50 tokens); the other is unreadable (107 tokens), and its ask
    // again fails a little later, after the first order's answer is in.
    let answeredOrder: string | undefined;
    let unreadableAsks = 0;
    const fetch: typeof globalThis.fetch = async (input, init) => {
      if (judgeBody(init).model !== "sim-judge") return inner(input, init);
      const text = bodyText(init);
      answeredOrder ??= text;
      if (text === answeredOrder) return completion('{"reasoning":"clearer","winner":"A"}', 50);
      if (++unreadableAsks === 1) return completion("I cannot decide.", 107);
      await new Promise((resolve) => setTimeout(resolve, 30));
      return new Response('{"error":{"message":"down"}}', { status: 503 });
    };
    const { app } = harness({ deps: { fetch }, config: { judge: { on_error: "fail_open" } } });
    const body = await (await postChat(app, chatBody({ verdict: { n: 2 } }))).json();
    expect(body.verdict.degraded).toBe("judge_unavailable");
    expect(body.verdict.judge.calls).toBe(2);
    expect(body.verdict.usage.judge.total_tokens).toBe(50 + 107);
    expect(body.usage.total_tokens).toBe(body.verdict.usage.generator.total_tokens + 50 + 107);
    const metrics = await (await app.request("/metrics")).text();
    expect(metrics).toMatch(/verdict_tokens_total\{role="judge",kind="prompt"\} 157\b/);
  });

  it("counts every answered call in the answer, also of a judgment still running when judging failed open", async () => {
    const sim = createSimulator();
    const inner = fetchInto(sim.app);
    let judgeCalls = 0;
    // Both orders answer unreadably (107 tokens each), then both re-asks fail; the first failure ends judging.
    const fetch: typeof globalThis.fetch = async (input, init) => {
      if (judgeBody(init).model !== "sim-judge") return inner(input, init);
      if (++judgeCalls <= 2) return completion("I cannot decide.", 107);
      await new Promise((resolve) => setTimeout(resolve, judgeCalls === 3 ? 0 : 40));
      return new Response('{"error":{"message":"down"}}', { status: 503 });
    };
    const { app } = harness({ deps: { fetch }, config: { judge: { on_error: "fail_open" } } });
    const response = await postChat(app, chatBody({ verdict: { n: 2 } }));
    const body = await response.json();
    expect(body.verdict.degraded).toBe("judge_unavailable");
    expect(body.verdict.judge.calls).toBe(2);
    expect(response.headers.get("x-verdict-judge-calls")).toBe("2");
    expect(body.verdict.usage.judge.total_tokens).toBe(214);
  });

  it("neither counts nor spends the cap on a call that refused response_format", async () => {
    const sim = createSimulator();
    const inner = fetchInto(sim.app);
    let refused = 0;
    const fetch: typeof globalThis.fetch = (input, init) => {
      const sent = judgeBody(init);
      if (sent.model !== "sim-judge") return inner(input, init);
      if (sent.response_format === undefined) return inner(input, init);
      refused += 1;
      return Promise.resolve(new Response(JSON.stringify({ error: { message: "response_format is not supported", type: "invalid_request_error", param: "response_format" } }), { status: 400 }));
    };
    const { app } = harness({ deps: { fetch } });
    // Two judgments in flight at once both meet the refusal; each is asked again without it and answered.
    const body = await (await postChat(app, chatBody({ verdict: { n: 2, tournament: "knockout", max_judge_calls: 2 } }))).json();
    expect(refused).toBeGreaterThan(0);
    expect(body.verdict.judge).toMatchObject({ calls: 2, unparsed: 0 });
    expect(sim.requests.filter((r) => r.role === "judge")).toHaveLength(2);
  });
});
