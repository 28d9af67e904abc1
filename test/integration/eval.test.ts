// `verdict eval` counts what the judge said: checked against an independent recount of the simulator's verdicts.
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { noCache } from "../../src/cache/types";
import { loadItems, type GroundingItem, type PairItem } from "../../src/eval/data";
import { loadConfig } from "../../src/config";
import { summarise } from "../../src/eval/metrics";
import { renderReport } from "../../src/eval/report";
import { evalJudge } from "../../src/eval/judge";
import { runEval } from "../../src/eval/run";
import type { JudgeBackend } from "../../src/judge/backend";
import type { PairWinner } from "../../strategies/types";
import { createJudgeBackend, createJudgeUpstream } from "../../src/judge/create";
import { createOpenAIJudge } from "../../src/judge/openai-judge";
import { createUpstream } from "../../src/upstream";
import { createRootSignalsFake } from "../fakes/root-signals";
import { simulatedGrounding } from "../sim/grounding";
import { qualityOf } from "../sim/random";
import { createSimulator, type Simulator } from "../sim/server";
import { fetchInto, SIM_URL, testConfig } from "../helpers";

const HALUEVAL = "../shared/data/halueval-qa.jsonl";
const LLMBAR = "../shared/data/llmbar/natural.json";

function dataOrFail(path: string): string {
  if (!existsSync(path)) throw new Error(`${path} is missing: eval tests read ../shared/data (see its README)`);
  return readFileSync(path, "utf8");
}

/** The simulator's judge as an eval backend, in process. */
function simJudge(sim: Simulator) {
  const config = testConfig();
  return createOpenAIJudge(createUpstream("judge", { ...config.judge, base_url: SIM_URL }, fetchInto(sim.app)), { ...config.judge, model: "sim-judge" });
}

describe("verdict eval", () => {
  it("reports grounding counts equal to an independent recount, and writes JSON and HTML (CLI, simulator judge)", async () => {
    const out = mkdtempSync(join(tmpdir(), "verdict-eval-"));
    const run = await promisify(execFile)(
      "node",
      ["bin/verdict.mjs", "eval", "--sim", "--task", "grounding", "--data", HALUEVAL, "--limit", "50", "--out", out],
      { env: { ...process.env, VERDICT_CONFIG: "" }, timeout: 60_000 },
    );
    expect(run.stdout).toMatch(/SIMULATOR/);
    const report = JSON.parse(readFileSync(join(out, "grounding-report.json"), "utf8"));
    const items = loadItems("grounding", dataOrFail(HALUEVAL), HALUEVAL, 50) as GroundingItem[];
    expect(items).toHaveLength(100);
    // The CLI's simulator flips 10% of grounding verdicts, per input, with seed 1.
    const said = new Map(items.map((item) => [item.id, simulatedGrounding(item.answer, item.documents.join("\n\n---\n\n"), 0.1, 1).verdict]));
    const count = (label: string, predicted: string) => items.filter((i) => i.label === label && said.get(i.id) === predicted).length;
    expect(report.summary.confusion).toEqual({
      PASS: { PASS: count("PASS", "PASS"), FAIL: count("PASS", "FAIL") },
      FAIL: { PASS: count("FAIL", "PASS"), FAIL: count("FAIL", "FAIL") },
    });
    const mismatches = items.filter((i) => said.get(i.id) !== i.label).map((i) => i.id);
    expect(report.summary.wrong.map((w: { id: string }) => w.id).sort()).toEqual(mismatches.sort());
    expect(report.summary.accuracy).toBeCloseTo(1 - mismatches.length / 100);
    const tp = count("FAIL", "FAIL");
    expect(report.summary.fail.precision).toBeCloseTo(tp / (tp + count("PASS", "FAIL")));
    expect(report.summary.judge.calls).toBe(100);
    const html = readFileSync(join(out, "grounding-report.html"), "utf8");
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('aria-label="confusion matrix"');
    expect(html).toContain('aria-label="judge latency histogram"');
    expect(html).not.toMatch(/<script|https?:\/\//);
  });

  it("reports pairwise accuracy and position consistency equal to a recount (in-process, perfect simulator judge)", async () => {
    const sim = createSimulator({ judge: { accuracy: 1, bias: 0 } });
    const config = testConfig();
    const upstream = createUpstream("judge", { ...config.judge, base_url: SIM_URL }, fetchInto(sim.app));
    const items = loadItems("pairwise", dataOrFail(LLMBAR), LLMBAR, 50) as PairItem[];
    const { results } = await runEval({
      task: "pairwise",
      items,
      backend: createOpenAIJudge(upstream, { ...config.judge, model: "sim-judge" }),
      cache: noCache,
      concurrency: 4,
      signal: new AbortController().signal,
    });
    const summary = summarise("pairwise", results);
    const preferred = (item: PairItem) => (qualityOf(item.output_1) >= qualityOf(item.output_2) ? 1 : 2);
    const wrong = items.filter((item) => preferred(item) !== item.label).map((item) => item.id);
    expect(summary.rows).toBe(50);
    expect("position_consistency" in summary && summary.position_consistency).toBe(1);
    expect(summary.accuracy).toBeCloseTo(1 - wrong.length / 50);
    expect(summary.wrong.map((w) => w.id).sort()).toEqual(wrong.sort());
    expect(summary.judge.calls).toBe(100);
    expect(sim.count("judge")).toBe(100);
  });

  it("keeps the rows judged so far when interrupted", async () => {
    const sim = createSimulator({ judge: { latency: { ttft_ms: 20 } } });
    const config = testConfig();
    const upstream = createUpstream("judge", { ...config.judge, base_url: SIM_URL }, fetchInto(sim.app));
    const items = loadItems("grounding", dataOrFail(HALUEVAL), HALUEVAL, 40);
    const controller = new AbortController();
    const run = runEval({ task: "grounding", items, backend: createOpenAIJudge(upstream, { ...config.judge, model: "sim-judge" }), cache: noCache, concurrency: 2, signal: controller.signal });
    setTimeout(() => controller.abort(), 70);
    const { results, interrupted } = await run;
    expect(interrupted).toBe(true);
    expect(results.length).toBeGreaterThan(0);
    expect(results.length).toBeLessThan(80);
    expect(results.every((r) => r.predicted !== "error")).toBe(true);
  });

  it("leaves out, and counts, items the judge answered with no readable verdict (a judge that never decides)", async () => {
    // Every judge answer is noise, the retry included: nothing the judge said is a verdict.
    const sim = createSimulator({ faults: { judge: { rate: 1, kinds: ["garbage"] } } });
    const run = (task: "grounding" | "pairwise", data: string) =>
      runEval({ task, items: loadItems(task, dataOrFail(data), data, 5), backend: simJudge(sim), cache: noCache, concurrency: 2, signal: new AbortController().signal });

    const grounding = summarise("grounding", (await run("grounding", HALUEVAL)).results);
    expect.soft(grounding.accuracy).toBeNull();
    expect.soft("fail" in grounding && grounding.fail).toEqual({ precision: null, recall: null, f1: null });
    expect.soft(grounding.confusion).toEqual({ PASS: { PASS: 0, FAIL: 0 }, FAIL: { PASS: 0, FAIL: 0 } });
    expect(grounding.unparsed).toBe(10);

    const { results } = await run("pairwise", LLMBAR);
    const pairwise = summarise("pairwise", results);
    expect.soft(pairwise.accuracy).toBeNull();
    expect.soft("position_consistency" in pairwise && pairwise.position_consistency).toBeNull();
    expect(pairwise.unparsed).toBe(5);
    expect(results.every((r) => r.predicted === "unparsed")).toBe(true);

    const html = renderReport(pairwise, [], {});
    expect(html).toMatch(/unreadable judge answers<\/th><td>5</);
    expect(html).toMatch(/left out/);
  });

  it("computes the figures over the readable verdicts only when some answers are unreadable", async () => {
    // One row at a time, so the script hits the first item: noise on its call and on the retry, then clean answers.
    const sim = createSimulator({ faults: { judge: { script: ["garbage", "garbage"] } } });
    const items = loadItems("grounding", dataOrFail(HALUEVAL), HALUEVAL, 10) as GroundingItem[];
    const { results } = await runEval({ task: "grounding", items, backend: simJudge(sim), cache: noCache, concurrency: 1, signal: new AbortController().signal });
    const summary = summarise("grounding", results);
    const readable = items.slice(1);
    const said = new Map(readable.map((item) => [item.id, simulatedGrounding(item.answer, item.documents.join("\n\n---\n\n"), 0, 1).verdict]));
    const count = (label: string, predicted: string) => readable.filter((i) => i.label === label && said.get(i.id) === predicted).length;
    expect.soft(summary.confusion).toEqual({
      PASS: { PASS: count("PASS", "PASS"), FAIL: count("PASS", "FAIL") },
      FAIL: { PASS: count("FAIL", "PASS"), FAIL: count("FAIL", "FAIL") },
    });
    expect.soft(summary.accuracy).toBeCloseTo((count("PASS", "PASS") + count("FAIL", "FAIL")) / 19);
    expect(summary.unparsed).toBe(1);
    expect(results.find((r) => r.id === items[0]!.id)?.predicted).toBe("unparsed");
  });

  it("times the calls the judge answered, one per judge call counted, without the backoff before a retry", async () => {
    // Every other judge call fails with a 500 and is retried after at least 150 ms (equal jitter on 300 ms).
    const sim = createSimulator({ faults: { judge: { script: ["status_500", "ok", "status_500", "ok", "status_500", "ok"] } } });
    const config = testConfig({ judge: { base_url: SIM_URL, max_retries: 2 }, retry: { base_delay_ms: 300 } });
    const { backend, callTimes } = evalJudge(config, fetchInto(sim.app), []);
    const items = loadItems("grounding", dataOrFail(HALUEVAL), HALUEVAL, 4);
    const { results } = await runEval({ task: "grounding", items, backend, cache: noCache, concurrency: 2, signal: new AbortController().signal });
    const summary = summarise("grounding", results, callTimes);
    expect(summary.errors).toBe(0);
    expect(sim.count("judge")).toBe(summary.judge.calls + 3); // the three failed attempts were made, and not timed
    expect(summary.latency_ms.calls_timed).toBe(summary.judge.calls);
    expect(summary.latency_ms.p95).toBeLessThan(150);
  });

  it("scores each order of a pair as half the item: a tie beside the right pick is 0.75, a split 0.5", async () => {
    // A judge whose answer per order is scripted by the item: [forward, backward] (forward shows output_1 as A).
    const script: Record<string, [PairWinner, PairWinner]> = { a: ["A", "B"], b: ["A", "tie"], c: ["tie", "A"], d: ["A", "A"], e: ["tie", "tie"] };
    const backend = {
      identity: { fake: true },
      model: "scripted",
      templates: { pairwise: { id: "p", version: 1 }, rubric: { id: "r", version: 1 }, grounding: { id: "g", version: 1 } },
      comparePair: async (input: { conversation: { content: string }[]; a: { index: number } }) => {
        const [forward, backward] = script[input.conversation[0]!.content]!;
        const winner = input.a.index === 0 ? forward : backward;
        return { value: { winner, reasoning: winner, parsed: true }, usage: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 }, calls: 1 };
      },
    } as unknown as JudgeBackend;
    const items = Object.keys(script).map((instruction, i) => ({ id: instruction, instruction, output_1: `one ${i}`, output_2: `two ${i}`, label: 1 as const }));
    const { results } = await runEval({ task: "pairwise", items, backend, cache: noCache, concurrency: 1, signal: new AbortController().signal });
    const scores = Object.fromEntries(results.map((r) => [r.id, r.score]));
    // a: both orders pick output 1; b: output 1, then a tie; c: a tie, then output 2; d: a split; e: ties both ways.
    expect(scores).toEqual({ a: 1, b: 0.75, c: 0.25, d: 0.5, e: 0.5 });
    const summary = summarise("pairwise", results);
    expect(summary.accuracy).toBeCloseTo(3 / 5);
    // b predicted output 1, which is right at 0.75: not listed among the rows it got wrong.
    expect(summary.wrong.map((w) => [w.id, w.predicted])).toEqual([["c", "2"], ["d", "tie"], ["e", "tie"]]);
  });

  it("pays one Root Signals evaluator run per answer in pairwise eval (both orders share the runs)", async () => {
    const KEY = "rs-eval-key";
    const fake = createRootSignalsFake(KEY, { Quality: { id: "ev-quality", kind: "quality" } });
    const config = loadConfig(
      { ROOT_SIGNALS_API_KEY: KEY },
      JSON.stringify({ generator: { base_url: SIM_URL }, judge: { backend: "root-signals", base_url: "https://rs.test", max_retries: 0, evaluators: { default: { name: "Quality" } } } }),
    );
    const items = loadItems("pairwise", dataOrFail(LLMBAR), LLMBAR, 10);
    const backend = createJudgeBackend(config, createJudgeUpstream(config, fetchInto(fake.app)));
    const { results } = await runEval({ task: "pairwise", items, backend, cache: noCache, concurrency: 4, signal: new AbortController().signal });
    const summary = summarise("pairwise", results);
    expect(summary.errors).toBe(0);
    expect(fake.runs).toHaveLength(20);
    expect(summary.judge.calls).toBe(20);
  });
});
