// The Root Signals evaluator API as the judge, end to end with the openai SDK as client and a fake of the platform.
import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { Logger } from "../../src/app";
import { createApp } from "../../src/app";
import { loadConfig } from "../../src/config";
import { noCache } from "../../src/cache/types";
import { loadItems } from "../../src/eval/data";
import { summarise } from "../../src/eval/metrics";
import { runEval } from "../../src/eval/run";
import { createJudgeBackend, createJudgeUpstream } from "../../src/judge/create";
import { createRootSignalsFake } from "../fakes/root-signals";
import { qualityOf } from "../sim/random";
import { createSimulator } from "../sim/server";
import { chatBody, fetchInto, postChat, SIM_URL } from "../helpers";

const KEY = "rs-secret-key-9f3a";
const RS_URL = "https://rs.test";
const HALUEVAL = "../shared/data/halueval-qa.jsonl";

function setup(
  judge: Record<string, unknown> = {},
  simOptions: Parameters<typeof createSimulator>[0] = {},
  env: Record<string, string> = { ROOT_SIGNALS_API_KEY: KEY },
  rest: Record<string, unknown> = {},
  /** Platform calls never answer: each waits for its abort. */
  platformHangs = false,
) {
  const sim = createSimulator(simOptions);
  const fake = createRootSignalsFake(KEY, { Quality: { id: "ev-quality", kind: "quality" }, Grounded: { id: "ev-grounded", kind: "grounded" } });
  const toSim = fetchInto(sim.app);
  const toFake = fetchInto(fake.app);
  /** Calls to the platform in flight: now, and the most at once. */
  const platform = { inFlight: 0, most: 0 };
  const fetch: typeof globalThis.fetch = async (input, init) => {
    if (!String(input instanceof Request ? input.url : input).startsWith(RS_URL)) return toSim(input, init);
    platform.most = Math.max(platform.most, ++platform.inFlight);
    try {
      if (platformHangs) {
        await new Promise((_, reject) => init?.signal?.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError"))));
      }
      return await toFake(input, init);
    } finally {
      platform.inFlight -= 1;
    }
  };
  const config = loadConfig(
    env,
    JSON.stringify({
      generator: { base_url: SIM_URL, max_retries: 0 },
      judge: { backend: "root-signals", base_url: RS_URL, max_retries: 2, evaluators: { default: { name: "Quality" }, guard: { id: "ev-grounded" } }, ...judge },
      ...rest,
    }),
  );
  const logs: unknown[] = [];
  const logger: Logger = { info: (e) => logs.push(e), warn: (e) => logs.push(e), error: (e) => logs.push(e) };
  const app = createApp({ config, fetch, logger });
  return { sim, fake, app, config, fetch, logs, platform };
}

describe("Root Signals judge backend", () => {
  it("scores candidates with the rubric evaluator and reports cost and execution log ids", async () => {
    const { app, fake } = setup();
    const response = await postChat(app, chatBody({ verdict: { n: 3, strategy: "rubric", return_candidates: true } }));
    expect(response.status).toBe(200);
    const body = await response.json();
    const texts: string[] = body.verdict.candidates.map((c: { message: { content: string } }) => c.message.content);
    const best = texts.reduce((a, b) => (qualityOf(a) >= qualityOf(b) ? a : b));
    expect(body.choices[0].message.content).toBe(best);
    expect(body.verdict.scores[body.verdict.winner]).toBeCloseTo(qualityOf(best));
    expect(body.verdict.judge.calls).toBe(3);
    expect(body.verdict.judge.execution_log_ids).toEqual(["log-1", "log-2", "log-3"]);
    expect(body.verdict.usage.judge.cost).toBeCloseTo(0.003);
    expect(fake.runs.every((r) => r.evaluator === "Quality" && r.body.request === "Explain why the sky is blue.")).toBe(true);
  });

  it("compares pairwise by scoring each answer once per match, and picks the best", async () => {
    const { app, fake } = setup();
    const body = await (await postChat(app, chatBody({ verdict: { n: 4, tournament: "knockout", return_candidates: true } }))).json();
    const texts: string[] = body.verdict.candidates.map((c: { message: { content: string } }) => c.message.content);
    expect(body.choices[0].message.content).toBe(texts.reduce((a, b) => (qualityOf(a) >= qualityOf(b) ? a : b)));
    // Each answer is scored once per request, however many matches and orders it plays in.
    expect(fake.runs).toHaveLength(4);
    expect(body.verdict.judge.calls).toBe(4);
    expect(body.verdict.rationale).toMatch(/pointwise/);
  });

  it("keeps a pair's two scoring calls within the request's bound on calls in flight", async () => {
    for (const [bound, most] of [[1, 1], [4, 2]] as const) {
      const { app, fake, platform } = setup({}, {}, undefined, { limits: { max_inflight_per_request: bound } });
      const response = await postChat(app, chatBody({ verdict: { n: 2, tournament: "knockout" } }));
      expect(response.status).toBe(200);
      expect(fake.runs).toHaveLength(2);
      expect(platform.most).toBe(most); // the two scores at once only when the bound allows it
    }
  });

  it("guards with a contexts evaluator and a pass threshold", async () => {
    const rows = readFileSync(HALUEVAL, "utf8").trim().split("\n").slice(0, 40).map((l) => JSON.parse(l));
    const row = rows.find((r) => r.right_answer.split(" ").length <= 3 && r.knowledge.includes(r.right_answer) && !r.knowledge.includes(r.hallucinated_answer))!;
    const { app, fake } = setup({}, { generator: { answers: [row.hallucinated_answer, row.right_answer] } });
    const request = chatBody({ messages: [{ role: "user", content: row.question }], verdict: { strategy: "guard", n: 2, context: row.knowledge } });
    const body = await (await postChat(app, request)).json();
    expect(body.verdict.grounded).toBe(true);
    expect(body.choices[0].message.content).toBe(row.right_answer);
    expect(fake.runs.filter((r) => r.evaluator === "Grounded").map((r) => r.body.contexts)).toEqual([[row.knowledge], [row.knowledge]]);
  });

  it("treats a null score as a judge failure: flagged when failing open, 502 when failing closed", async () => {
    const open = setup();
    open.fake.failNext({ nullScore: true }, { nullScore: true }, { nullScore: true });
    const flagged = await (await postChat(open.app, chatBody({ verdict: { n: 2, strategy: "rubric" } }))).json();
    expect(flagged.verdict.degraded).toBe("judge_unavailable");
    const closed = setup({ on_error: "fail_closed" });
    closed.fake.failNext({ nullScore: true }, { nullScore: true });
    const refused = await postChat(closed.app, chatBody({ verdict: { n: 2, strategy: "rubric" } }));
    expect(refused.status).toBe(502);
    expect((await refused.json()).error.message).toMatch(/returned no score/);
  });

  it("still counts the run that answered, its cost and log id, when the other side of a pair fails", async () => {
    const { app, fake } = setup();
    fake.failNext({ none: true }, { nullScore: true });
    const body = await (await postChat(app, chatBody({ verdict: { n: 2, tournament: "knockout" } }))).json();
    expect(body.verdict.degraded).toBe("judge_unavailable");
    expect(fake.runs).toHaveLength(2);
    expect(body.verdict.judge.calls).toBe(1);
    expect(body.verdict.usage.judge.cost).toBeCloseTo(0.001);
    expect(body.verdict.judge.execution_log_ids).toHaveLength(1);
    // The metrics agree with the verdict object.
    expect(await (await app.request("/metrics")).text()).toMatch(/verdict_judge_calls_total\{task="pairwise"\} 1\b/);
  });

  it("retries 429 (honouring retry-after) and 5xx, then succeeds", async () => {
    const { app, fake } = setup();
    fake.failNext({ status: 429, retryAfter: "0" }, { status: 503 });
    const response = await postChat(app, chatBody({ verdict: { n: 2, strategy: "rubric" } }));
    expect(response.status).toBe(200);
    expect((await response.json()).verdict.degraded).toBeUndefined();
  });

  it("retries a 200 whose body is not JSON (a gateway's page), as it does for the OpenAI-compatible judge", async () => {
    const { app, fake } = setup({ on_error: "fail_closed" });
    fake.failNext({ html: true });
    const response = await postChat(app, chatBody({ verdict: { n: 2, strategy: "rubric" } }));
    expect(response.status).toBe(200);
    expect(fake.runs).toHaveLength(2);
    fake.failNext(...Array.from({ length: 6 }, () => ({ html: true as const }))); // every attempt of both runs
    const refused = await postChat(app, chatBody({ seed: 3, verdict: { n: 2, strategy: "rubric" } }));
    expect(refused.status).toBe(502);
    expect((await refused.json()).error.message).toMatch(/not valid JSON/);
  });

  it("says the platform's reason for a refusal, from its {detail} body", async () => {
    const wrongKey = setup({ api_key: "wrong-key-77", on_error: "fail_closed" }, {}, {});
    const refused = await (await postChat(wrongKey.app, chatBody({ verdict: { n: 2, strategy: "rubric" } }))).json();
    expect(refused.error.message).toMatch(/Invalid API key\./);
    const unknown = setup({ on_error: "fail_closed", evaluators: { default: { name: "NoSuchEvaluator" } } });
    const missing = await (await postChat(unknown.app, chatBody({ verdict: { n: 2, strategy: "rubric" } }))).json();
    expect(missing.error.message).toMatch(/Evaluator not found\./);
  });

  it("never shows the key, even when the platform refuses it", async () => {
    const { app, logs } = setup({ api_key: "wrong-key-77", on_error: "fail_closed" }, {}, {});
    const response = await postChat(app, chatBody({ verdict: { n: 2, strategy: "rubric" } }));
    expect(response.status).toBe(502);
    const text = await response.text();
    const everything = [text, JSON.stringify([...response.headers]), JSON.stringify(logs)].join("\n");
    expect(everything).not.toContain("wrong-key-77");
    expect(everything).not.toContain(KEY);
  });

  it("runs a score again for a later judgment when the judgment that started it was stopped (a round-robin settled early)", async () => {
    const { config, fetch, fake } = setup();
    // The platform takes 50 ms per call, so the first judgment is stopped with its calls in flight.
    const slow: typeof globalThis.fetch = async (input, init) => (await new Promise((resolve) => setTimeout(resolve, 50)), fetch(input, init));
    const backend = createJudgeBackend(config, createJudgeUpstream(config, slow));
    const candidate = (index: number, text: string) => ({ index, text, message: { role: "assistant", content: text }, finish_reason: "stop", duplicates: [] });
    const input = { conversation: [{ role: "user" as const, content: "Explain why the sky is blue." }], a: candidate(0, "Rayleigh scattering."), b: candidate(1, "It reflects the sea.") };
    const memo = new Map<string, unknown>();
    const stopped = new AbortController();
    const first = backend.comparePair(input, stopped.signal, { memo }).catch((err: unknown) => err);
    await new Promise((resolve) => setTimeout(resolve, 10));
    stopped.abort(new Error("round-robin settled early"));
    await first;
    // The same request judges the pair again (a guard choosing among the rest): the scores are run anew.
    const again = await backend.comparePair(input, new AbortController().signal, { memo });
    expect(["A", "B", "tie"]).toContain(again.value.winner);
    expect(again.calls).toBe(2);
    expect(fake.runs.length).toBeGreaterThanOrEqual(2);

    // Judgments already waiting for the stopped one's scores run them again too: once between them, not once each.
    const shared = new Map<string, unknown>();
    const stoppedToo = new AbortController();
    const starter = backend.comparePair(input, stoppedToo.signal, { memo: shared }).catch((err: unknown) => err);
    await new Promise((resolve) => setTimeout(resolve, 10));
    const waiting = [1, 2].map(() => backend.comparePair(input, new AbortController().signal, { memo: shared }));
    stoppedToo.abort(new Error("round-robin settled early"));
    await starter;
    const runsBefore = fake.runs.length;
    const results = await Promise.all(waiting);
    expect(results.map((r) => r.calls).reduce((x, y) => x + y, 0)).toBe(2);
    expect(fake.runs.length - runsBefore).toBe(2);
  });

  it("counts a call cut off by the request's budget as a timeout, though the SDK aborts it without saying why", async () => {
    const judge = { timeout_ms: 60_000, on_error: "fail_closed" };
    const { app } = setup(judge, {}, { ROOT_SIGNALS_API_KEY: KEY }, { timeouts: { request_ms: 150 } }, true);
    expect((await postChat(app, chatBody({ verdict: { n: 2, strategy: "rubric" } }))).status).toBe(504);
    const metrics = await (await app.request("/metrics")).text();
    expect(metrics).toMatch(/verdict_upstream_requests_total\{upstream="judge",status="timeout"\} [1-9]/);
    expect(metrics).not.toMatch(/verdict_upstream_requests_total\{upstream="judge",status="aborted"\} [1-9]/);
  });

  it("serves verdict eval unchanged", async () => {
    if (!existsSync(HALUEVAL)) throw new Error(`${HALUEVAL} is missing`);
    const { config, fetch } = setup();
    const items = loadItems("grounding", readFileSync(HALUEVAL, "utf8"), HALUEVAL, 10);
    const { results } = await runEval({ task: "grounding", items, backend: createJudgeBackend(config, createJudgeUpstream(config, fetch)), cache: noCache, concurrency: 4, signal: new AbortController().signal });
    const summary = summarise("grounding", results);
    expect(summary.rows).toBe(20);
    expect(summary.errors).toBe(0);
    expect(summary.judge.calls).toBe(20);
  });
});
