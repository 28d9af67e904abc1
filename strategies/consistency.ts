// Self-consistency: the answer most candidates agree on wins, with no judge call. A tie between answers goes to the
// judge (a knockout among one representative of each tied answer) unless `tie_break` says "rule".
import { z } from "zod";
import { knockout } from "./knockout";
import { tieBreakOrder } from "./tiebreak";
import type { Candidate, Selection, Strategy } from "./types";

export const consistencyOptions = z.object({
  strategy: z.literal("consistency"),
  /** How two answers are compared: their last number, their last line, their whole text, or the first that applies. */
  answer: z.enum(["auto", "number", "last_line", "text"]).default("auto"),
  tie_break: z.enum(["judge", "rule"]).default("judge"),
});

export type ConsistencyOptions = z.infer<typeof consistencyOptions>;

const fold = (text: string) => text.trim().toLowerCase().replace(/\s+/g, " ").replace(/[.!]+$/, "");

function lastNumber(text: string): string | null {
  const numbers = text.replace(/(\d),(?=\d{3}\b)/g, "$1").match(/-?\d+(?:\.\d+)?/g);
  return numbers ? String(Number(numbers.at(-1))) : null;
}

function lastLine(text: string): string | null {
  const lines = text.trim().split("\n").map((l) => l.trim()).filter(Boolean);
  const marked = lines.map((l) => /^(?:final answer|answer)\s*[:\-]\s*(.+)$/i.exec(l)?.[1]).filter(Boolean).at(-1);
  return marked ? fold(marked) : lines.length > 1 ? fold(lines.at(-1)!) : null;
}

/** The normalised final answer of a candidate, used as its vote. */
export function finalAnswer(text: string, mode: ConsistencyOptions["answer"]): string {
  if (mode === "number") return lastNumber(text) ?? fold(text);
  if (mode === "last_line") return lastLine(text) ?? fold(text);
  if (mode === "text") return fold(text);
  const marked = /(?:final answer|answer)\s*[:\-]\s*(.+)\s*$/i.exec(text.trim())?.[1];
  return marked ? (lastNumber(marked) ?? fold(marked)) : (lastNumber(text) ?? fold(text));
}

/**
 * What a candidate's vote is for. A call of tools is the whole call, name and arguments (its text spells the arguments
 * one way, src/openai/chat.ts): the last number in `get_weather({"city":"Rome","days":3})` says nothing about which
 * call it is.
 */
function answerOf(candidate: Candidate, mode: ConsistencyOptions["answer"]): string {
  const calls = candidate.message.tool_calls;
  return Array.isArray(calls) && calls.length > 0 ? `[calls] ${candidate.text}` : finalAnswer(candidate.text, mode);
}

export const consistency: Strategy<ConsistencyOptions> = {
  async select(candidates, options, ctx) {
    const groups = new Map<string, Candidate[]>();
    for await (const candidate of candidates) {
      const key = answerOf(candidate, options.answer);
      // Merged duplicates were voters too: each counts once per copy.
      groups.set(key, [...(groups.get(key) ?? []), candidate]);
    }
    const votes = (group: Candidate[]) => group.reduce((sum, c) => sum + 1 + c.duplicates.length, 0);
    const ordered = [...groups.values()].sort((g, h) => votes(h) - votes(g));
    const top = votes(ordered[0]!);
    const tied = ordered.filter((g) => votes(g) === top);
    // Each answer is represented by its most concise wording.
    const representative = (group: Candidate[]) => [...group].sort((a, b) => tieBreakOrder(a, b))[0]!;
    const total = ordered.reduce((sum, g) => sum + votes(g), 0);
    const scores = Object.fromEntries(ordered.flatMap((g) => g.map((c) => [c.index, votes(g) / total])));

    let winner: Candidate;
    let rationale: string;
    let judged: Selection | null = null;
    if (tied.length === 1) {
      winner = representative(tied[0]!);
      rationale = `${top} of ${total} candidates agree on this answer.`;
    } else if (options.tie_break === "judge") {
      async function* reps() {
        for (const group of tied) yield representative(group);
      }
      judged = await knockout(reps(), ctx);
      winner = tied.map(representative).find((c) => c.index === judged!.winner)!;
      rationale = `${tied.length} answers tied with ${top} votes each; the judge chose: ${judged.rationale}`;
    } else {
      winner = tied.map(representative).sort((a, b) => tieBreakOrder(a, b))[0]!;
      rationale = `${tied.length} answers tied with ${top} votes each; chosen by the tie-break rule (shorter answer, then lower index).`;
    }
    const winningGroup = ordered.find((g) => g.includes(winner))!;
    const rest = ordered.flatMap((g) => (g === winningGroup ? g.filter((c) => c !== winner) : g));
    return {
      winner: winner.index,
      ranking: [winner.index, ...rest.map((c) => c.index)],
      rationale,
      scores,
      ...(judged?.matches ? { matches: judged.matches } : {}),
      rounds: judged?.rounds ?? 0,
    };
  },
};
