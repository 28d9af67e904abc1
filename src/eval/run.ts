// Runs a judge over an evaluation set through the proxy's own judge code (session, cache, backend), with bounded
// concurrency. Stops scheduling when the signal aborts and returns what it has.
import type { Candidate, PairWinner } from "../../strategies/types";
import type { JudgmentCache } from "../cache/types";
import type { JudgeBackend } from "../judge/backend";
import { createJudgeSession } from "../judge/session";
import type { Usage } from "../openai/chat";
import type { EvalTask, GroundingItem, PairItem } from "./data";

export interface ItemResult {
  id: string;
  label: string;
  /**
   * PASS/FAIL for grounding; "1", "2" or "tie" for pairwise; "error" when the judge could not be reached; "unparsed"
   * when it answered but no verdict could be read (for a pair: in either order), even after the retry.
   */
  predicted: string;
  /**
   * 1 right, 0 wrong; for a pair, each order counts half (a right pick 1, a tie 0.5, a wrong pick 0), so a split or a
   * tie both ways is 0.5 and a tie beside a right pick 0.75, as a match weighs them (DESIGN.md). 0 for an error or an
   * unreadable answer, which the figures leave out.
   */
  score: number;
  /** Pairwise: whether both orders named the same output. */
  consistent?: boolean;
  calls: number;
  cache_hits: number;
  usage: Usage;
  reasoning: string;
  error?: string;
}

export interface EvalRunOptions {
  task: EvalTask;
  items: (GroundingItem | PairItem)[];
  backend: JudgeBackend;
  cache: JudgmentCache;
  concurrency: number;
  signal: AbortSignal;
  onResult?: (result: ItemResult, done: number, total: number) => void;
}

/** Whether the judge gave a verdict for this item: errors and unreadable answers say nothing about its accuracy. */
export const gotVerdict = (result: ItemResult): boolean => result.predicted !== "error" && result.predicted !== "unparsed";

const asCandidate = (index: number, text: string): Candidate => ({ index, text, message: { role: "assistant", content: text }, finish_reason: "stop", duplicates: [] });

/** Both orders, read as DESIGN.md's match rule reads them, but a split stays a tie: an evaluation reports the judge as is. */
function pairOutcome(forward: PairWinner, backward: PairWinner): { predicted: string; consistent: boolean } {
  const first = forward === "A" ? "1" : forward === "B" ? "2" : "tie";
  const second = backward === "A" ? "2" : backward === "B" ? "1" : "tie";
  if (first === second) return { predicted: first, consistent: true };
  if (first === "tie") return { predicted: second, consistent: false };
  if (second === "tie") return { predicted: first, consistent: false };
  return { predicted: "tie", consistent: false };
}

/** One order's say on a pair: 1 for naming the right output, 0.5 for a tie, 0 for naming the other. */
function orderScore(winner: PairWinner, outputOneIs: "A" | "B", right: string): number {
  if (winner !== "A" && winner !== "B") return 0.5;
  return (winner === outputOneIs ? "1" : "2") === right ? 1 : 0;
}

async function evaluate(item: GroundingItem | PairItem, options: EvalRunOptions): Promise<ItemResult> {
  const { judge, stats } = createJudgeSession(options.backend, options.cache);
  const tally = () => ({ calls: stats.calls, cache_hits: stats.cache_hits, usage: stats.usage });
  try {
    if ("answer" in item) {
      const checked = await judge.checkGrounding({ question: item.question, documents: item.documents, answer: item.answer }, options.signal);
      // The judge code reads an unreadable check as FAIL (safe for the proxy); an evaluation must not count it as one.
      const predicted = checked.parsed ? checked.verdict : "unparsed";
      return { id: item.id, label: item.label, predicted, score: predicted === item.label ? 1 : 0, reasoning: checked.reasoning, ...tally() };
    }
    const conversation = [{ role: "user", content: item.instruction }];
    const [one, two] = [asCandidate(0, item.output_1), asCandidate(1, item.output_2)];
    const [forward, backward] = await Promise.all([
      judge.compare({ conversation, a: one, b: two }, options.signal),
      judge.compare({ conversation, a: two, b: one }, options.signal),
    ]);
    // An unreadable order reads as a tie, and a tie both ways as consistent: neither is something the judge said.
    const unreadable = [forward, backward].find((verdict) => !verdict.parsed);
    if (unreadable) return { id: item.id, label: String(item.label), predicted: "unparsed", score: 0, reasoning: unreadable.reasoning, ...tally() };
    const { predicted, consistent } = pairOutcome(forward.winner, backward.winner);
    const right = String(item.label);
    const score = (orderScore(forward.winner, "A", right) + orderScore(backward.winner, "B", right)) / 2;
    return { id: item.id, label: String(item.label), predicted, score, consistent, reasoning: forward.reasoning, ...tally() };
  } catch (err) {
    return { id: item.id, label: "label" in item ? String(item.label) : "", predicted: "error", score: 0, reasoning: "", error: (err as Error).message, ...tally() };
  }
}

export async function runEval(options: EvalRunOptions): Promise<{ results: ItemResult[]; interrupted: boolean }> {
  const waiting = [...options.items];
  const results: ItemResult[] = [];
  const worker = async () => {
    while (waiting.length > 0 && !options.signal.aborted) {
      const result = await evaluate(waiting.shift()!, options);
      if (options.signal.aborted && result.predicted === "error") return;
      results.push(result);
      options.onResult?.(result, results.length, options.items.length);
    }
  };
  // No more workers than items: each takes items until none are left.
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency, options.items.length)) }, worker));
  return { results, interrupted: options.signal.aborted };
}
