// Turns per-row results into the figures a judge is chosen by: accuracy, FAIL precision/recall/F1, consistency,
// latency, tokens, and the rows it got wrong.
import { addUsage, ZERO_USAGE } from "../openai/chat";
import type { EvalTask } from "./data";
import { gotVerdict, type ItemResult } from "./run";

function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const ratio = (num: number, den: number) => (den === 0 ? null : num / den);

/** `callTimes`: milliseconds per call the judge answered (src/eval/judge.ts), for the latency figures. */
export function summarise(task: EvalTask, results: ItemResult[], callTimes: number[] = []) {
  // Errors and unreadable answers are counted, not scored: a judge that never decides must not look half right.
  const answered = results.filter(gotVerdict);
  const labels = task === "grounding" ? ["PASS", "FAIL"] : ["1", "2"];
  const predictions = task === "grounding" ? ["PASS", "FAIL"] : ["1", "2", "tie"];
  const confusion = Object.fromEntries(
    labels.map((label) => [label, Object.fromEntries(predictions.map((p) => [p, answered.filter((r) => r.label === label && r.predicted === p).length]))]),
  ) as Record<string, Record<string, number>>;
  const base = {
    task,
    rows: results.length,
    /** Items whose figures below count: the judge gave a readable verdict. */
    scored: answered.length,
    errors: results.filter((r) => r.predicted === "error").length,
    unparsed: results.filter((r) => r.predicted === "unparsed").length,
    accuracy: ratio(answered.reduce((sum, r) => sum + r.score, 0), answered.length),
    confusion,
    latency_ms: {
      calls_timed: callTimes.length,
      mean: callTimes.length ? callTimes.reduce((a, b) => a + b, 0) / callTimes.length : 0,
      p95: percentile(callTimes, 95),
    },
    judge: {
      calls: results.reduce((sum, r) => sum + r.calls, 0),
      cache_hits: results.reduce((sum, r) => sum + r.cache_hits, 0),
      usage: results.reduce((sum, r) => addUsage(sum, r.usage), ZERO_USAGE),
    },
    // By what was predicted: a pair right in one order and a tie in the other is a right prediction at 0.75.
    wrong: results.filter((r) => r.predicted !== r.label).map(({ id, label, predicted, reasoning, error }) => ({ id, label, predicted, reasoning, ...(error ? { error } : {}) })),
  };
  if (task === "grounding") {
    // FAIL is the class that matters: a hallucination let through is the costly mistake.
    const truePositive = confusion.FAIL!.FAIL!;
    const precision = ratio(truePositive, truePositive + confusion.PASS!.FAIL!);
    const recall = ratio(truePositive, truePositive + confusion.FAIL!.PASS!);
    const f1 = precision !== null && recall !== null && precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : null;
    return { ...base, fail: { precision, recall, f1 } };
  }
  const consistent = answered.filter((r) => r.consistent).length;
  return { ...base, position_consistency: ratio(consistent, answered.length), ties: answered.filter((r) => r.predicted === "tie").length };
}

export type EvalSummary = ReturnType<typeof summarise>;
