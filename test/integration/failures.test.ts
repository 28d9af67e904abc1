// Upstream failures: lost candidates degrade the answer, the judge's absence follows judge.on_error.
import { describe, expect, it } from "vitest";
import { createSimulator } from "../sim/server";
import { bodyText, chatBody, fetchInto, harness, postChat, unhandledDuring } from "../helpers";

/** The simulator behind a switch: requests whose body matches `fail` get `status` instead. */
function failing(fail: (body: string) => boolean, status = 503, headers: Record<string, string> = {}, sim = createSimulator()) {
  const inner = fetchInto(sim.app);
  const fetch: typeof globalThis.fetch = async (input, init) => {
    const body = bodyText(init);
    if (fail(body)) return new Response(JSON.stringify({ error: { message: "overloaded", type: "server_error" } }), { status, headers });
    return inner(input, init);
  };
  return { sim, fetch };
}

const isJudgeCall = (body: string) => body.includes("response_a");

describe("a client's json_schema of a shape verdict cannot use", () => {
  it("is ignored when candidates are checked against it: an answer, not a crashed or hung request", async () => {
    const { app } = harness({ sim: { generator: { answers: ['{"a": 1}', '{"a": 22}'] } } });
    for (const schema of [{ anyOf: "x" }, { type: "object", required: 5 }, { enum: "x" }]) {
      const response = await postChat(app, chatBody({ response_format: { type: "json_schema", json_schema: { name: "x", schema } }, verdict: { n: 2 } }));
      expect(response.status).toBe(200);
      expect((await response.json()).choices[0].message.content).toMatch(/^\{"a": \d+\}$/);
    }
  });
});

describe("upstream failures", () => {
  it("survives a judge that fails while candidates still arrive (rubric, guard): an answer, never an unhandled rejection", async () => {
    const unhandled = await unhandledDuring(async () => {
      // No `n` upstream and a wide spread: the first judgments fail while later candidates are still being drawn.
      const sim = createSimulator({ supports_n: false, generator: { latency: { spread_ms: 150 } } });
      const inner = fetchInto(sim.app);
      const fetch: typeof globalThis.fetch = (input, init) =>
        bodyText(init).includes('"model":"sim-judge"')
          ? Promise.resolve(new Response(JSON.stringify({ error: { message: "down", type: "server_error" } }), { status: 500 }))
          : inner(input, init);
      const { app } = harness({ deps: { fetch }, config: { generator: { supports_n: false }, judge: { max_retries: 0 } } });
      const rubric = await postChat(app, chatBody({ verdict: { n: 4, strategy: "rubric" } }));
      expect(rubric.status).toBe(200);
      expect((await rubric.json()).verdict.degraded).toBe("judge_unavailable");
      const guarded = await postChat(app, chatBody({ verdict: { n: 4, strategy: "guard", context: "The sky is blue." } }));
      expect(guarded.status).toBe(502);
      expect((await guarded.json()).error.code).toBe("judge_unavailable");
    }, 200); // the draws still running end, and any rejection surfaces
    expect(unhandled).toEqual([]);
  });

  it("fails open when the judge is down: a candidate comes back, flagged degraded", async () => {
    const { fetch } = failing(isJudgeCall);
    const { app } = harness({ deps: { fetch } });
    const response = await postChat(app, chatBody({ verdict: { n: 3 } }));
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body.verdict.degraded).toBe("judge_unavailable");
    expect(body.verdict.rationale).toMatch(/judge was unavailable/);
    expect(body.choices[0].message.content).toMatch(/simulated answer/);
    // Why, as failing closed would have said it.
    const closed = await (await postChat(harness({ deps: { fetch }, config: { judge: { on_error: "fail_closed" } } }).app, chatBody({ verdict: { n: 3 } }))).json();
    expect(body.verdict.judge_error).toEqual({ status: 502, message: closed.error.message });
  });

  it("fails closed with a 502 naming the judge when configured so", async () => {
    const { fetch } = failing(isJudgeCall);
    const { app } = harness({ deps: { fetch }, config: { judge: { on_error: "fail_closed" } } });
    const response = await postChat(app, chatBody({ verdict: { n: 3 } }));
    expect(response.status).toBe(502);
    const body = await response.json();
    expect(body.error).toMatchObject({ type: "judge_error", code: "judge_unavailable" });
  });

  it("failing closed, passes on a judge's 429 with its retry-after: come back later, not verdict is broken", async () => {
    const { fetch } = failing(isJudgeCall, 429, { "retry-after": "60" });
    const { app } = harness({ deps: { fetch }, config: { judge: { on_error: "fail_closed" } } });
    const response = await postChat(app, chatBody({ verdict: { n: 3 } }));
    expect(response.status).toBe(429);
    expect(response.headers.get("retry-after")).toBe("60");
    expect((await response.json()).error).toMatchObject({ type: "judge_error", code: "judge_unavailable" });
  });

  it("failing open, a consistency vote stands: only the judge's tie-break gives way to the rule", async () => {
    // Two answers tie on two votes each; the lone "5" is the shortest text, which the plain tie-break rule would pick.
    const answers = ["Think it over.\n42", "Hmm, well.\n42", "So then.\n17", "Then also.\n17", "5"];
    const { fetch } = failing(isJudgeCall, 500, {}, createSimulator({ generator: { answers } }));
    const { app } = harness({ deps: { fetch }, config: { judge: { on_error: "fail_open" } } });
    const body = await (await postChat(app, chatBody({ verdict: { n: 5, strategy: "consistency", answer: "last_line" } }))).json();
    expect(body.verdict.degraded).toBe("judge_unavailable");
    expect(body.choices[0].message.content).toMatch(/\n(42|17)$/);
    expect(body.verdict.judge.calls).toBe(0);
  });

  it("failing open under a guard whose inner strategy is consistency, the vote among passed answers stands too", async () => {
    const answers = ["Think it over.\n42", "Hmm, well.\n42", "So then.\n17", "Then also.\n17", "5"];
    const inner = fetchInto(createSimulator({ generator: { answers } }).app);
    const passes = { id: "g", object: "chat.completion", created: 1, model: "sim-judge", usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } };
    const fetch: typeof globalThis.fetch = async (input, init) => {
      const body = bodyText(init);
      if (body.includes("<ANSWER>")) {
        const content = JSON.stringify({ REASONING: "supported", VERDICT: "PASS" });
        return Response.json({ ...passes, choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }] });
      }
      if (isJudgeCall(body)) return new Response(JSON.stringify({ error: { message: "down", type: "server_error" } }), { status: 500 });
      return inner(input, init);
    };
    const { app } = harness({ deps: { fetch } });
    const verdict = { n: 5, strategy: "guard", inner: "consistency", answer: "last_line", context: "Notes.", on_judge_error: "fail_open" };
    const body = await (await postChat(app, chatBody({ verdict }))).json();
    expect(body.verdict).toMatchObject({ degraded: "judge_unavailable", grounded: true });
    expect(body.choices[0].message.content).toMatch(/\n(42|17)$/);
  });

  it("ends at once, with the generator's error, when min_candidates can no longer be reached: no judging on", async () => {
    let draws = 0;
    const sim = createSimulator({ supports_n: false, judge: { latency: { ttft_ms: 2_000 } } });
    const inner = fetchInto(sim.app);
    const fetch: typeof globalThis.fetch = async (input, init) => {
      const body = bodyText(init);
      if (!isJudgeCall(body) && ++draws % 2 === 0) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        return new Response(JSON.stringify({ error: { message: "overloaded", type: "server_error" } }), { status: 503 });
      }
      return inner(input, init);
    };
    const { app } = harness({ deps: { fetch }, config: { generator: { max_retries: 0 } } });
    const started = performance.now();
    const response = await postChat(app, chatBody({ verdict: { n: 4, min_candidates: 3, cache: false } }));
    expect(response.status).toBe(503);
    expect((await response.json()).error.message).toMatch(/overloaded/);
    expect(performance.now() - started).toBeLessThan(1_500);
  });

  it("drops candidates lost to errors and reports them", async () => {
    let draws = 0;
    const { fetch } = failing((body) => !isJudgeCall(body) && ++draws === 2);
    const { app } = harness({ deps: { fetch }, config: { generator: { supports_n: false } } });
    const response = await postChat(app, chatBody({ verdict: { n: 4 } }));
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body.verdict.n_candidates).toBe(3);
    expect(body.verdict.degraded).toBe("candidates_lost");
    expect(body.verdict.errors[0].status).toBe(503);
  });

  it("passes on the upstream's error when too few candidates arrive", async () => {
    const { fetch } = failing((body) => !isJudgeCall(body), 429);
    const { app } = harness({ deps: { fetch } });
    const response = await postChat(app, chatBody({ verdict: { n: 3 } }));
    expect(response.status).toBe(429);
    const body = await response.json();
    expect(body.error.type).toBe("rate_limit_error");
    expect(body.error.message).toMatch(/generator upstream error: overloaded/);
  });

  it("passes on an upstream's error written as plain text, and not an HTML page's markup", async () => {
    for (const [text, expected] of [
      ["bad request:\n  model not found", /^generator upstream error: bad request: model not found$/],
      ["<html><body><h1>400 Bad Request</h1></body></html>", /^generator upstream error: status 400$/],
    ] as const) {
      const fetch: typeof globalThis.fetch = async () => new Response(text, { status: 400, headers: { "content-type": "text/plain" } });
      const { app } = harness({ deps: { fetch } });
      const response = await postChat(app, chatBody({ verdict: { n: 3 } }));
      expect(response.status).toBe(400);
      expect((await response.json()).error.message).toMatch(expected);
    }
  });

  it("maps an unreachable generator to a 502, not a 500", async () => {
    const { app } = harness({ deps: { fetch: async () => { throw new TypeError("fetch failed"); } } });
    const reranked = await postChat(app, chatBody({ verdict: { n: 2 } }));
    expect(reranked.status).toBe(502);
    expect((await reranked.json()).error.code).toBe("generator_unreachable");
    const passed = await postChat(app, chatBody({ verdict: { n: 1 } }));
    expect(passed.status).toBe(502);
  });
});

describe("a judge that answers garbage", () => {
  it("is asked once more, then the match counts as a tie and is reported", async () => {
    const sim = createSimulator();
    const inner = fetchInto(sim.app);
    let judgeCalls = 0;
    const fetch: typeof globalThis.fetch = async (input, init) => {
      if (!isJudgeCall(bodyText(init))) return inner(input, init);
      judgeCalls += 1;
      const completion = {
        id: "x", object: "chat.completion", created: 0, model: "j",
        choices: [{ index: 0, message: { role: "assistant", content: "I like both of them a lot!" }, finish_reason: "stop" }],
        usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
      };
      return new Response(JSON.stringify(completion), { headers: { "content-type": "application/json" } });
    };
    const { app } = harness({ deps: { fetch } });
    const body = await (await postChat(app, chatBody({ verdict: { n: 2, tournament: "knockout" } }))).json();
    expect(judgeCalls).toBe(4); // two orders, each asked twice
    expect(body.verdict.judge).toMatchObject({ calls: 4, unparsed: 2 });
    expect(body.verdict.matches[0].decided_by).toMatch(/shorter_answer|lower_index/);
    expect(body.verdict.usage.judge.total_tokens).toBe(60);
  });
});
