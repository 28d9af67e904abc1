// Guarded RAG answers end to end: candidates built from HaluEval rows, the simulator's groundedness stand-in as judge.
import { zodResponseFormat } from "openai/helpers/zod";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { guardedAsk, rightAnswerCheckDown, rowsTheStandInSeparates } from "../guard-rows";
import { bodyText, chatBody, fetchInto, harness, postChat } from "../helpers";
import { createSimulator } from "../sim/server";

const row = rowsTheStandInSeparates()[0]!;
const ask = (verdict: Record<string, unknown>) => guardedAsk(row, verdict);

describe("guard", () => {
  it("returns the grounded answer, with every check reported", async () => {
    const { app, sim } = harness({ sim: { generator: { answers: [row.hallucinated_answer, row.right_answer] } } });
    const response = await postChat(app, ask({ n: 2 }));
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body.choices[0].message.content).toBe(row.right_answer);
    expect(body.verdict.grounded).toBe(true);
    expect(body.verdict.winner).toBe(1);
    expect(body.verdict.checks).toEqual([
      { index: 0, verdict: "FAIL", reasoning: expect.stringMatching(/document lacks/) },
      { index: 1, verdict: "PASS", reasoning: expect.any(String) },
    ]);
    expect(response.headers.get("x-verdict-grounded")).toBe("true");
    expect(body.verdict.rationale).toMatch(/^Only the answer of candidate 1, of 2 distinct answers, was supported by the documents\. The judge: /);
    // Two checks; a single passing candidate needs no pairwise match.
    expect(sim.count("judge")).toBe(2);
    const check = sim.requests.find((r) => r.role === "judge")!;
    const [system, user] = check.body.messages as { content: string }[];
    expect(system!.content).toMatch(/^TASK\n[\s\S]*\nINSTRUCTIONS\n[\s\S]*\nOUTPUT_EXAMPLE\n/);
    expect(user!.content).toMatch(/^<QUESTION>\n[\s\S]*<\/QUESTION>\n\n<DOCUMENT>\n[\s\S]*<\/DOCUMENT>\n\n<ANSWER>\n[\s\S]*<\/ANSWER>$/);
  });

  it("lists repeats among the checks with their twin's verdict, and ranks them before the answers that failed", async () => {
    const { app, sim } = harness({ sim: { generator: { answers: [row.right_answer, row.right_answer, row.hallucinated_answer, row.hallucinated_answer] } } });
    const body = await (await postChat(app, ask({ n: 4, return_candidates: true }))).json();
    expect(sim.count("judge")).toBe(2); // one check per distinct answer
    expect(body.verdict.checks).toEqual([
      { index: 0, verdict: "PASS", reasoning: expect.any(String) },
      { index: 1, verdict: "PASS", reasoning: "the same answer as candidate 0", prefiltered: true },
      { index: 2, verdict: "FAIL", reasoning: expect.stringMatching(/document lacks/) },
      { index: 3, verdict: "FAIL", reasoning: "the same answer as candidate 2", prefiltered: true },
    ]);
    expect(body.verdict.ranking).toEqual([0, 1, 2, 3]);
    expect(body.verdict.rationale).toMatch(/^Only the answer of candidate 0, of 2 distinct answers, was supported/);
    // Asked for every candidate, the client still gets no unsupported answer's text: those are withheld.
    expect(body.verdict.candidates.map((c: { message?: { content: string }; withheld?: string }) => c.message?.content ?? c.withheld))
      .toEqual([row.right_answer, row.right_answer, "not_grounded", "not_grounded"]);
    expect(JSON.stringify(body)).not.toContain(row.hallucinated_answer);
    const none = await (await postChat(harness({ sim: { generator: { answers: [row.hallucinated_answer] } } }).app, ask({ n: 2, return_candidates: true }))).json();
    expect(none.verdict.winner).toBeNull();
    expect(JSON.stringify(none)).not.toContain(row.hallucinated_answer);
  });

  it("lists a candidate left out before judging (an empty answer) among the checks, as failed and never judged", async () => {
    const { app, sim } = harness({ sim: { generator: { answers: [row.right_answer, ""] } } });
    const body = await (await postChat(app, ask({ n: 2 }))).json();
    expect(body.verdict.grounded).toBe(true);
    expect(body.verdict.checks).toEqual([
      { index: 0, verdict: "PASS", reasoning: expect.any(String) },
      { index: 1, verdict: "FAIL", reasoning: "not checked: empty answer", prefiltered: true },
    ]);
    expect(sim.count("judge")).toBe(1);
  });

  it("abstains when no candidate is grounded", async () => {
    const { app } = harness({ sim: { generator: { answers: [row.hallucinated_answer] } } });
    const response = await postChat(app, ask({ n: 3 }));
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body.verdict.grounded).toBe(false);
    expect(body.verdict.winner).toBeNull();
    expect(body.choices[0].message.content).toBe("I can't answer that from the documents provided.");
    expect(body.choices[0].message.content).not.toContain(row.hallucinated_answer);
  });

  it("abstains as a refusal when the client asked for JSON, so the SDK's parse() reads it as one, streamed or not", async () => {
    const { client } = harness({ sim: { generator: { answers: [row.hallucinated_answer] } } });
    const request = { ...ask({ n: 2 }), response_format: zodResponseFormat(z.object({ answer: z.string() }), "answer") };
    const parsed = await client.chat.completions.parse(request as never);
    const message = parsed.choices[0]!.message;
    expect(message).toMatchObject({ content: null, refusal: "I can't answer that from the documents provided.", parsed: null });
    const streamed = await client.chat.completions.stream(request as never).finalChatCompletion();
    expect(streamed.choices[0]!.message.refusal).toBe("I can't answer that from the documents provided.");
    expect(streamed.choices[0]!.message.content).toBeNull();
  });

  it("answers 422 when on_all_fail is error, and returns a flagged pick for best_effort", async () => {
    const { app } = harness({ sim: { generator: { answers: [row.hallucinated_answer] } } });
    const refused = await postChat(app, ask({ n: 2, on_all_fail: "error" }));
    expect(refused.status).toBe(422);
    expect((await refused.json()).error).toMatchObject({ type: "guard_error", code: "ungrounded" });
    const best = await (await postChat(app, ask({ n: 2, on_all_fail: "best_effort", abstain_message: "nope" }))).json();
    expect(best.verdict.grounded).toBe(false);
    expect(best.choices[0].message.content).toBe(row.hallucinated_answer);
  });

  it("finds the documents in the messages, and refuses with a how-to when there are none", async () => {
    const { app } = harness({ sim: { generator: { answers: [row.right_answer, row.hallucinated_answer] } } });
    const tagged = chatBody({
      messages: [{ role: "user", content: `<documents>${row.knowledge}</documents>\n${row.question}` }],
      verdict: { strategy: "guard", n: 2 },
    });
    const body = await (await postChat(app, tagged)).json();
    expect(body.verdict.grounded).toBe(true);
    const system = chatBody({ messages: [{ role: "system", content: row.knowledge }, { role: "user", content: row.question }], verdict: { strategy: "guard", n: 2 } });
    expect((await (await postChat(app, system)).json()).verdict.grounded).toBe(true);

    const none = await postChat(app, chatBody({ verdict: { strategy: "guard", n: 2 } }));
    expect(none.status).toBe(400);
    const error = (await none.json()).error;
    expect(error.param).toBe("verdict.context");
    expect(error.message).toMatch(/<documents>/);
    // Blank documents are refused, not taken as none (which would check the answers against the system prompt).
    for (const context of ["   ", ["", " \n"]]) {
      const blank = await postChat(app, { ...system, verdict: { strategy: "guard", n: 2, context } });
      expect(blank.status).toBe(400);
      expect((await blank.json()).error).toMatchObject({ param: "verdict.context", message: expect.stringMatching(/blank/) });
    }
    const listed = await postChat(app, { ...system, verdict: { strategy: "guard", n: 2, context_sources: ["tags", "bogus"] } });
    expect((await listed.json()).error.param).toBe("verdict.context_sources[1]");
    // Where to look, beside the documents themselves: one of the two would go unread.
    const both = await postChat(app, { ...system, verdict: { strategy: "guard", n: 2, context: "The bridge opened in 1932.", context_sources: ["system"] } });
    expect(both.status).toBe(400);
    expect((await both.json()).error).toMatchObject({ param: "verdict.context_sources", code: "option_not_applicable" });
  });

  it("refuses tools that the answer may call, since a call of a tool is no answer to check; tool_choice none is checked as text", async () => {
    const { app, sim } = harness();
    const tools = [{ type: "function", function: { name: "get_weather", parameters: { type: "object", properties: {} } } }];
    const refused = await postChat(app, { ...ask({ n: 2 }), tools });
    expect(refused.status).toBe(400);
    expect((await refused.json()).error).toMatchObject({ param: "tools", code: "guard_unsupported" });
    const required = await postChat(app, { ...ask({ n: 2 }), tools, tool_choice: "required" });
    expect(required.status).toBe(400);
    expect(sim.count("generator")).toBe(0);
    const textOnly = await (await postChat(app, { ...ask({ n: 2 }), tools, tool_choice: "none" })).json();
    expect(textOnly.verdict.checks).toHaveLength(2);
    // The legacy spelling: functions, answered by a function_call beside the text the judge would have checked.
    const functions = [{ name: "get_weather", parameters: { type: "object", properties: {} } }];
    const drawn = sim.count("generator");
    const legacy = await postChat(app, { ...ask({ n: 2 }), functions });
    expect(legacy.status).toBe(400);
    expect((await legacy.json()).error).toMatchObject({ param: "functions", code: "guard_unsupported" });
    expect(sim.count("generator")).toBe(drawn);
    expect((await postChat(app, { ...ask({ n: 2 }), functions, function_call: "none" })).status).toBe(200);
  });

  it("skips the judge for empty answers and refusals, which fail", async () => {
    const { app, sim } = harness({ sim: { generator: { answers: ["I'm sorry, I cannot help with that.", row.right_answer] } } });
    const body = await (await postChat(app, ask({ n: 2 }))).json();
    expect(body.verdict.checks[0]).toMatchObject({ index: 0, verdict: "FAIL", prefiltered: true });
    expect(sim.count("judge")).toBe(1);
    expect(body.choices[0].message.content).toBe(row.right_answer);
  });

  it("abstains without a judge call when every candidate is empty", async () => {
    const { app, sim } = harness({ sim: { generator: { answers: [""] } } });
    const body = await (await postChat(app, ask({ n: 2 }))).json();
    expect(body.verdict.grounded).toBe(false);
    expect(body.choices[0].message.content).toBe("I can't answer that from the documents provided.");
    expect(sim.count("judge")).toBe(0);
  });

  it("fails closed when the judge is down, even where judge.on_error is fail_open", async () => {
    const sim = createSimulator({ generator: { answers: [row.right_answer, row.hallucinated_answer] } });
    const inner = fetchInto(sim.app);
    const fetch: typeof globalThis.fetch = (input, init) =>
      bodyText(init).includes("<ANSWER>") ? Promise.resolve(new Response("down", { status: 503 })) : inner(input, init);
    const { app } = harness({ deps: { fetch }, config: { judge: { on_error: "fail_open" } } });
    const response = await postChat(app, ask({ n: 2 }));
    expect(response.status).toBe(502);
    expect((await response.json()).error.code).toBe("judge_unavailable");
  });

  it("checks a lone answer too: n 1 under a guard is not a pass-through, streamed or not", async () => {
    const { app, sim } = harness({ sim: { generator: { answers: [row.hallucinated_answer] } } });
    const body = await (await postChat(app, ask({ n: 1 }))).json();
    expect(body.verdict.grounded).toBe(false);
    expect(body.choices[0].message.content).toBe("I can't answer that from the documents provided.");
    expect(sim.count("judge")).toBe(1);
    const streamed = await (await postChat(app, { ...ask({ n: 1 }), stream: true })).text();
    expect(streamed).toContain("I can't answer that");
    expect(streamed).not.toContain(row.hallucinated_answer);

    const grounded = harness({ sim: { generator: { answers: [row.right_answer] } } });
    const passed = await (await postChat(grounded.app, ask({ n: 1 }))).json();
    expect(passed.choices[0].message.content).toBe(row.right_answer);
    expect(passed.verdict.grounded).toBe(true);
  });

  it("never gives an unchecked or failed candidate as one of several choices", async () => {
    const { app } = harness({ sim: { generator: { answers: [row.hallucinated_answer, row.right_answer] } } });
    const body = await (await postChat(app, { ...ask({ n: 2 }), n: 2 })).json();
    expect(body.verdict.grounded).toBe(true);
    expect(body.choices.map((c: { message: { content: string } }) => c.message.content)).toEqual([row.right_answer]);
    // The record still ranks every candidate.
    expect(body.verdict.ranking).toEqual([1, 0]);
    const streamed = await (await postChat(app, { ...ask({ n: 2 }), n: 2, stream: true })).text();
    expect(streamed).not.toContain(row.hallucinated_answer);

    // An empty answer is set aside before any check (the pool excludes it): not a choice either.
    const withEmpty = harness({ sim: { generator: { answers: [row.right_answer, ""] } } });
    const both = await (await postChat(withEmpty.app, { ...ask({ n: 2 }), n: 2 })).json();
    expect(both.choices).toHaveLength(1);
    expect(both.choices[0].message.content).toBe(row.right_answer);

    // Nothing usable at all: the request abstains, and the record lists each candidate once.
    const empty = harness({ sim: { generator: { answers: [""] } } });
    const abstained = await (await postChat(empty.app, ask({ n: 2 }))).json();
    expect(abstained.verdict.grounded).toBe(false);
    expect(abstained.verdict.ranking).toEqual([0, 1]);

    // A repeat of an answer that passed is the same text: it may be a choice, as its own draw.
    const twins = harness({ sim: { generator: { answers: [row.right_answer, row.right_answer] } } });
    const repeated = await (await postChat(twins.app, { ...ask({ n: 2 }), n: 2 })).json();
    expect(repeated.choices.map((c: { message: { content: string } }) => c.message.content)).toEqual([row.right_answer, row.right_answer]);
  });

  it("failing open, keeps to the checks made before the judge went away: a passed answer, never a failed one", async () => {
    const sim = createSimulator({ generator: { answers: [row.hallucinated_answer, row.right_answer, `${row.right_answer}.`] } });
    const inner = fetchInto(sim.app);
    // The checks get through; the pairwise matches among the answers that passed do not.
    const fetch: typeof globalThis.fetch = (input, init) =>
      bodyText(init).includes("response_a") ? Promise.resolve(new Response("down", { status: 503 })) : inner(input, init);
    const { app } = harness({ deps: { fetch }, config: { judge: { max_retries: 0 } } });
    const body = await (await postChat(app, { ...ask({ n: 3, on_judge_error: "fail_open" }), n: 3 })).json();
    expect(body.verdict.degraded).toBe("judge_unavailable");
    expect(body.verdict.grounded).toBe(true);
    expect(body.verdict.checks.map((k: { verdict: string }) => k.verdict)).toEqual(["FAIL", "PASS", "PASS"]);
    const given = body.choices.map((c: { message: { content: string } }) => c.message.content);
    expect(given).toHaveLength(2);
    expect(given).not.toContain(row.hallucinated_answer);
    // Its ranking still lists every candidate, the failed one last.
    expect([...body.verdict.ranking].sort()).toEqual([0, 1, 2]);
    expect(body.verdict.ranking.at(-1)).toBe(0);

    // A check that fails while another is still on its way: that one's FAIL still counts before anything is returned.
    const raced = harness({ sim: {}, deps: { fetch: rightAnswerCheckDown(inner, row) }, config: { judge: { max_retries: 0 } } });
    const answered = await (await postChat(raced.app, { ...ask({ n: 3, on_judge_error: "fail_open" }), n: 3 })).json();
    expect(answered.verdict.checks.filter((k: { verdict: string }) => k.verdict === "FAIL")).not.toHaveLength(0);
    expect(JSON.stringify(answered.choices)).not.toContain(row.hallucinated_answer);

    // With the judge gone altogether nothing was checked: an unchecked answer, flagged as such.
    const down: typeof globalThis.fetch = (input, init) =>
      bodyText(init).includes('"model":"sim-judge"') ? Promise.resolve(new Response("down", { status: 503 })) : inner(input, init);
    const unchecked = await (await postChat(harness({ deps: { fetch: down }, config: { judge: { max_retries: 0 } } }).app, ask({ n: 2, on_judge_error: "fail_open" }))).json();
    expect(unchecked.verdict).toMatchObject({ grounded: false, degraded: "judge_unavailable" });

    // One failed, the other's check never came: the unchecked answer, with the failed one still in the ranking.
    const mixed = createSimulator({ generator: { answers: [row.hallucinated_answer, row.right_answer] } });
    const halfChecked = harness({ deps: { fetch: rightAnswerCheckDown(fetchInto(mixed.app), row) }, config: { judge: { max_retries: 0 } } });
    const partly = await (await postChat(halfChecked.app, { ...ask({ n: 2, on_judge_error: "fail_open" }), n: 2 })).json();
    expect(partly.verdict).toMatchObject({ grounded: false, degraded: "judge_unavailable", winner: 1, ranking: [1, 0] });
    expect(partly.choices.map((c: { message: { content: string } }) => c.message.content)).toEqual([row.right_answer]);
  });

  it.each([
    ["", {}],
    [", under a bound on calls in flight", { max_inflight_per_request: 2 }],
  ])("failing open, returns an answer that passed when another check hangs to the request's deadline%s", async (_, limits) => {
    const sim = createSimulator({ generator: { answers: [row.right_answer, row.hallucinated_answer] } });
    const inner = fetchInto(sim.app);
    // The hallucinated answer's check never answers, until the request gives up on it.
    const fetch: typeof globalThis.fetch = (input, init) =>
      bodyText(init).includes(JSON.stringify(`<ANSWER>\n${row.hallucinated_answer}`).slice(1, -1))
        ? new Promise((_, reject) => init?.signal?.addEventListener("abort", () => reject(init.signal!.reason)))
        : inner(input, init);
    const { app } = harness({ deps: { fetch }, config: { timeouts: { request_ms: 400 }, limits } });
    const started = Date.now();
    const response = await postChat(app, { ...ask({ n: 2, on_judge_error: "fail_open" }), n: 2 });
    expect(Date.now() - started).toBeLessThan(400 + 200);
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body.verdict).toMatchObject({ grounded: true, degraded: "judge_unavailable", winner: 0 });
    expect(body.verdict.checks).toEqual([{ index: 0, verdict: "PASS", reasoning: expect.any(String) }]);
    expect(body.choices.map((c: { message: { content: string } }) => c.message.content)).toEqual([row.right_answer]);
  });

  it("picks among several grounded answers with the inner strategy", async () => {
    const { app, sim } = harness({ sim: { generator: { answers: [row.right_answer, `${row.right_answer}.`, row.hallucinated_answer] } } });
    const body = await (await postChat(app, ask({ n: 3, inner: "pairwise", tournament: "knockout" }))).json();
    expect(body.verdict.grounded).toBe(true);
    expect([0, 1]).toContain(body.verdict.winner);
    expect(body.verdict.matches).toHaveLength(1);
    expect(sim.count("judge")).toBe(3 + 2);
  });
});
