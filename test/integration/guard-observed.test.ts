// What operators see of guarded requests: verdict_guard_checks_total counts every check a request made, once, whether
// the request was answered or refused (422 on_all_fail "error", 502 failing closed); and each groundedness check in
// verdict.trace and in the spans names the candidate it checked.
import { describe, expect, it } from "vitest";
import { createTracer, type FinishedSpan } from "../../src/trace/tracer";
import { guardedAsk, rightAnswerCheckDown, rowsTheStandInSeparates } from "../guard-rows";
import { chatBody, fetchInto, harness, postChat } from "../helpers";
import { parseExposition, sampleValue } from "../prom-parse";
import { createSimulator } from "../sim/server";

const row = rowsTheStandInSeparates()[0]!;
const ask = (verdict: Record<string, unknown>) => guardedAsk(row, verdict);

type App = ReturnType<typeof harness>["app"];

async function guardChecks(app: App) {
  const m = parseExposition(await (await app.request("/metrics")).text());
  return {
    PASS: sampleValue(m, "verdict_guard_checks_total", { verdict: "PASS" }) ?? 0,
    FAIL: sampleValue(m, "verdict_guard_checks_total", { verdict: "FAIL" }) ?? 0,
  };
}

const twoWrong = { generator: { answers: [row.hallucinated_answer, `${row.hallucinated_answer} Indeed.`] } };

describe("verdict_guard_checks_total", () => {
  it("counts each check of an answered request once", async () => {
    const { app } = harness({ sim: { generator: { answers: [row.hallucinated_answer, row.right_answer] } } });
    const body = await (await postChat(app, ask({ n: 2 }))).json();
    expect(body.verdict.checks.map((k: { verdict: string }) => k.verdict)).toEqual(["FAIL", "PASS"]);
    expect(await guardChecks(app)).toEqual({ PASS: 1, FAIL: 1 });
  });

  it("counts the checks of a request refused with 422 (on_all_fail: error) as those of the same request abstaining", async () => {
    const abstaining = harness({ sim: twoWrong });
    const served = await (await postChat(abstaining.app, ask({ n: 2 }))).json();
    expect(served.verdict.checks).toHaveLength(2);
    expect(served.verdict.winner).toBeNull();
    expect(await guardChecks(abstaining.app)).toEqual({ PASS: 0, FAIL: 2 });

    const refusing = harness({ sim: twoWrong });
    expect((await postChat(refusing.app, ask({ n: 2, on_all_fail: "error" }))).status).toBe(422);
    expect(await guardChecks(refusing.app)).toEqual({ PASS: 0, FAIL: 2 });
  });

  it("counts a repeated and an empty answer alike whether the request abstains or is refused with 422", async () => {
    const repeats = { generator: { answers: [row.hallucinated_answer, row.hallucinated_answer, ""] } };
    const abstaining = harness({ sim: repeats });
    const served = await (await postChat(abstaining.app, ask({ n: 3 }))).json();
    expect(served.verdict.checks).toHaveLength(3);
    const expected = await guardChecks(abstaining.app);
    expect(expected).toEqual({ PASS: 0, FAIL: 3 });

    const refusing = harness({ sim: repeats });
    expect((await postChat(refusing.app, ask({ n: 3, on_all_fail: "error" }))).status).toBe(422);
    expect(await guardChecks(refusing.app)).toEqual(expected);
  });

  it("counts the candidates failed without a check when none was usable and the request is refused with 422", async () => {
    const abstaining = harness({ sim: { generator: { answers: [""] } } });
    expect((await postChat(abstaining.app, ask({ n: 2 }))).status).toBe(200);
    const expected = await guardChecks(abstaining.app);
    expect(expected.FAIL).toBeGreaterThan(0);

    const refusing = harness({ sim: { generator: { answers: [""] } } });
    expect((await postChat(refusing.app, ask({ n: 2, on_all_fail: "error" }))).status).toBe(422);
    expect(await guardChecks(refusing.app)).toEqual(expected);
  });

  it("counts the checks made before the judge went away when the request fails closed (502)", async () => {
    const sim = createSimulator({ generator: { answers: [row.hallucinated_answer, row.right_answer] } });
    const inner = fetchInto(sim.app);
    // The right answer's check fails at once; the hallucinated answer's is judged (FAIL) a little later.
    const fetch = rightAnswerCheckDown(inner, row);
    const { app } = harness({ deps: { fetch }, config: { judge: { max_retries: 0 } } });
    const response = await postChat(app, ask({ n: 2 }));
    expect(response.status).toBe(502);
    expect((await response.json()).error.code).toBe("judge_unavailable");
    expect(await guardChecks(app)).toEqual({ PASS: 0, FAIL: 1 });
  });
});

describe("groundedness checks name the candidate they checked", () => {
  it("in verdict.trace", async () => {
    const { app } = harness({ sim: { generator: { answers: [row.hallucinated_answer, row.right_answer] } }, config: { limits: { allow_trace: true } } });
    const body = await (await postChat(app, ask({ n: 2, trace: true }))).json();
    const checks = body.verdict.trace.judgments.filter((j: { task: string }) => j.task === "grounding");
    expect(checks.map((j: { a: number; grounding: string }) => [j.a, j.grounding]).sort()).toEqual([
      [0, "FAIL"],
      [1, "PASS"],
    ]);
  });

  it("and the trace, like return_candidates, withholds the answer that failed, streamed or not", async () => {
    const { app } = harness({ sim: { generator: { answers: [row.hallucinated_answer, row.right_answer] } }, config: { limits: { allow_trace: true } } });
    const plain = (await (await postChat(app, ask({ n: 2, trace: true, return_candidates: true }))).json()).verdict;
    const streamed = await postChat(app, { ...ask({ n: 2, trace: true }), stream: true });
    const lastData = (await streamed.text()).split("\n\n").filter((event) => event.startsWith("data: {")).at(-1)!;
    for (const verdict of [plain, JSON.parse(lastData.slice(6)).verdict]) {
      expect(verdict.trace.candidates.map((c: Record<string, unknown>) => [c.index, c.withheld ?? null, c.message !== undefined])).toEqual([
        [0, "not_grounded", false],
        [1, null, true],
      ]);
      expect(JSON.stringify(verdict)).not.toContain(row.hallucinated_answer);
    }
    expect(plain.candidates.map((c: Record<string, unknown>) => c.withheld ?? null)).toEqual(["not_grounded", null]);
  });

  it("in the judge spans", async () => {
    const spans: FinishedSpan[] = [];
    const tracer = createTracer({ sink: { push: (span) => void spans.push(span), flush: async () => undefined }, clock: Date.now, sampleRatio: 1 });
    const { app } = harness({ sim: { generator: { answers: [row.hallucinated_answer, row.right_answer] } }, deps: { tracer } });
    expect((await postChat(app, ask({ n: 2 }))).status).toBe(200);
    const checks = spans.filter((s) => s.name === "judge" && s.attributes["verdict.judge.task"] === "grounding");
    expect(checks.map((s) => [s.attributes["verdict.judge.a"], s.attributes["verdict.judge.verdict"]]).sort()).toEqual([
      [0, "FAIL"],
      [1, "PASS"],
    ]);
  });
});
