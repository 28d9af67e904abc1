// `verdict eval` counts what the judge said: checked against an independent recount of the simulator's verdicts.
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { noCache } from "../../src/cache/types";
import { loadItems, type GroundingItem, type PairItem } from "../../src/eval/data";
import { summarise } from "../../src/eval/metrics";
import { runEval } from "../../src/eval/run";
import { createOpenAIJudge } from "../../src/judge/openai-judge";
import { createUpstream } from "../../src/upstream";
import { simulatedGrounding } from "../sim/grounding";
import { qualityOf } from "../sim/random";
import { createSimulator } from "../sim/server";
import { fetchInto, SIM_URL, testConfig } from "../helpers";

const HALUEVAL = "../shared/data/halueval-qa.jsonl";
const LLMBAR = "../shared/data/llmbar/natural.json";

function dataOrFail(path: string): string {
  if (!existsSync(path)) throw new Error(`${path} is missing: eval tests read ../shared/data (see its README)`);
  return readFileSync(path, "utf8");
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
});
