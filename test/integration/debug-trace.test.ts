// verdict.trace: every candidate and judgment of a request in its response; refused unless the operator allows it.
import { describe, expect, it } from "vitest";
import { chatBody, harness, postChat } from "../helpers";
import { parseExposition, sampleValue } from "../prom-parse";

describe("verdict.trace", () => {
  it("is refused by default, naming the parameter", async () => {
    const { app, sim } = harness();
    const response = await postChat(app, chatBody({ verdict: { n: 2, trace: true } }));
    expect(response.status).toBe(400);
    expect((await response.json()).error).toMatchObject({ param: "verdict.trace", code: "trace_not_allowed" });
    expect(sim.requests).toHaveLength(0);
  });

  it("returns every candidate and every judgment, with attempt and cache status, when allowed", async () => {
    const { app } = harness({ config: { limits: { allow_trace: true } } });
    const request = chatBody({ seed: 11, verdict: { n: 4, tournament: "knockout", trace: true } });
    const body = await (await postChat(app, request)).json();
    const { trace } = body.verdict;
    expect(trace.candidates.map((c: { index: number }) => c.index)).toEqual([0, 1, 2, 3]);
    expect(trace.candidates.every((c: { message: { content: string }; arrived_ms: number }) => c.message.content.length > 0 && c.arrived_ms >= 0)).toBe(true);
    expect(trace.judgments).toHaveLength(6);
    for (const j of trace.judgments) {
      expect(j).toMatchObject({ task: "pairwise", attempt: 0, cached: false, calls: 1, parsed: true });
      expect(["A", "B", "tie"]).toContain(j.winner);
      expect(j.reasoning).toEqual(expect.any(String));
      expect(j.ms).toBeGreaterThanOrEqual(0);
    }
    // Both orders of every match are there: each (a, b) has its (b, a).
    const pairs = new Set(trace.judgments.map((j: { a: number; b: number }) => `${j.a}-${j.b}`));
    for (const j of trace.judgments) expect(pairs.has(`${j.b}-${j.a}`)).toBe(true);
    // The final judgment of the winner's last match names the winner, in the order it was shown.
    const last = body.verdict.matches.at(-1);
    const forward = trace.judgments.find((j: { a: number; b: number }) => j.a === last.a && j.b === last.b);
    expect(forward.winner === "A" ? last.a : last.b).toBe(body.verdict.winner);

    const again = await (await postChat(app, request)).json();
    expect(again.verdict.trace.judgments.every((j: { cached: boolean; calls: number }) => j.cached && j.calls === 0)).toBe(true);
  });

  it("counts the calls of a judgment that failed after spending them, as the same request without a trace does", async () => {
    // The first judge answer is unreadable and its re-ask fails: one call answered and billed, then a failure.
    const counted = async (trace: boolean) => {
      const { app } = harness({ sim: { faults: { judge: { script: ["garbage", "ok", "status_503"] } } }, config: { limits: { allow_trace: true }, judge: { max_retries: 0 } } });
      const body = await (await postChat(app, chatBody({ verdict: { n: 2, trace } }))).json();
      const families = parseExposition(await (await app.request("/metrics")).text());
      return { calls: body.verdict.judge.calls, metered: sampleValue(families, "verdict_judge_calls_total", { task: "pairwise" }), trace: body.verdict.trace?.judgments.map((j: { calls: number }) => j.calls) };
    };
    const plain = await counted(false);
    expect(plain.calls).toBe(2);
    expect(plain.metered).toBe(2);
    expect(await counted(true)).toEqual({ ...plain, trace: [1, 1] });
  });

  it("shows rematches as later attempts, and rubric grades with their justification", async () => {
    const biased = harness({ sim: { judge: { bias: 1 } }, config: { limits: { allow_trace: true } } });
    const split = await (await postChat(biased.app, chatBody({ verdict: { n: 2, rematches: 1, trace: true } }))).json();
    expect(split.verdict.trace.judgments.map((j: { attempt: number }) => j.attempt)).toEqual([0, 0, 1, 1]);

    const { app } = harness({ config: { limits: { allow_trace: true } } });
    const graded = await (await postChat(app, chatBody({ verdict: { n: 3, strategy: "rubric", trace: true } }))).json();
    expect(graded.verdict.trace.judgments).toHaveLength(3);
    for (const j of graded.verdict.trace.judgments) {
      expect(j).toMatchObject({ task: "rubric", cached: false });
      expect(j.score).toEqual(expect.any(Number));
      expect(j.justification).toEqual(expect.any(String));
    }
  });

  it("is absent unless asked for", async () => {
    const { app } = harness({ config: { limits: { allow_trace: true } } });
    const body = await (await postChat(app, chatBody({ verdict: { n: 2 } }))).json();
    expect(body.verdict).not.toHaveProperty("trace");
  });
});
