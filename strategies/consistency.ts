// Self-consistency: the answer most candidates agree on wins, with no judge call. A tie between answers goes to the
// judge (a knockout among one representative of each tied answer) unless `tie_break` says "rule".
import { z } from "zod";
import { inOrder } from "./in-order";
import { knockout } from "./knockout";
import { TIE_BREAK_STEPS, tieBreakOrder } from "./tiebreak";
import type { Candidate, Selection, Strategy } from "./types";
import { canonicalJson } from "../src/cache/key";
import { callsText } from "../src/openai/chat";

export const consistencyOptions = z.object({
  strategy: z.literal("consistency"),
  /** How two answers are compared: their last number, their last line, their whole text, or the first that applies. */
  answer: z.enum(["auto", "number", "last_line", "text"]).default("auto"),
  tie_break: z.enum(["judge", "rule"]).default("judge"),
});

export type ConsistencyOptions = z.infer<typeof consistencyOptions>;

/** Trailing stops and exclamation marks removed, by a loop: `[.!]+$` retried from every stop of a long run. */
function withoutTrailingStops(text: string): string {
  let end = text.length;
  while (end > 0 && (text[end - 1] === "." || text[end - 1] === "!")) end -= 1;
  return text.slice(0, end);
}

/** Words as a vote: case, spacing and closing stops aside, and a choice's letter alone ("(B)" is "b"). */
const fold = (text: string) => {
  const folded = withoutTrailingStops(text.trim().toLowerCase().replace(/\s+/g, " "));
  return /^\([a-z0-9]\)$/.test(folded) ? folded[1]! : folded;
};

/**
 * A number as an answer writes it. A fraction, ratio, time or date is one number (1/3, 3:45, 2024-03-01): read as its
 * first part, "1/2", "1/3" and "1/4" would all vote 1.
 */
const NUMBER_TEXT = "-?(?:\\d+(?:\\.\\d+)?|(?<![\\d.])\\.\\d+)(?:[/:-]\\d+(?:\\.\\d+)?)*";
const NUMBER = new RegExp(NUMBER_TEXT, "g");
const LEADING_NUMBER = new RegExp(`^[\\s$€£]*(${NUMBER_TEXT})`);
const PLAIN_NUMBER = /^-?(?:\d+(?:\.\d+)?|\.\d+)$/;
/** A fraction of whole numbers: 1/2, 2/4 and 0.5 are one value. */
const FRACTION = /^(-?\d+)\/(\d+)$/;
/** LaTeX's fractions as an answer's text writes them: \frac{1}{3} (\dfrac, \tfrac) is the number 1/3, not 1 and 3. */
const LATEX_FRACTION = /\\[dt]?frac\{\s*(-?[\d.]+)\s*\}\{\s*(-?[\d.]+)\s*\}/g;
const plainFractions = (text: string) => text.replace(LATEX_FRACTION, "$1/$2");
/** Thousands unseparated, and a minus sign as typeset (U+2212) read as one: "−5" is -5, not 5. */
const withoutThousands = (text: string) => plainFractions(text).replace(/\u2212/g, "-").replace(/(\d),(?=\d{3}\b)/g, "$1");
/**
 * One vote for one value: 12, 12.0 and 012 are 12; .5, 1/2 and 2/4 are 0.5; 2/6 is 1/3 (a fraction whose decimals
 * never end stays a fraction, in lowest terms); a date or time is compared as written.
 */
const numberVote = (number: string) => {
  if (PLAIN_NUMBER.test(number)) return String(Number(number));
  const fraction = FRACTION.exec(number);
  if (!fraction) return number;
  const [top, bottom] = [Number(fraction[1]), Number(fraction[2])];
  if (bottom === 0) return number;
  const divisor = greatestCommonDivisor(Math.abs(top), bottom);
  let rest = bottom / divisor;
  while (rest % 2 === 0) rest /= 2;
  while (rest % 5 === 0) rest /= 5;
  return rest === 1 ? String(top / bottom) : `${top / divisor}/${bottom / divisor}`;
};

function greatestCommonDivisor(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a || 1;
}

function lastNumber(text: string): string | null {
  const numbers = withoutThousands(text).match(NUMBER);
  return numbers ? numberVote(numbers.at(-1)!) : null;
}

/**
 * A sum worked out before its result, whole: numbers joined by operators, "=", the result ("4 × 3 = 12", "2 + 2 = 4",
 * "10 - 4 = 6", "1/2 + 1/4 = 3/4"). The result is the number right after its "=", whatever follows ("= 20 (check: 20
 * ÷ 4 = 5)"). Anchored, each part a number or a single operator, so linear.
 */
const WORKED_SUM = new RegExp(`^[\\s$€£]*${NUMBER_TEXT}(?:\\s*[×x*·+−÷^]\\s*${NUMBER_TEXT}|\\s+[-/]\\s+${NUMBER_TEXT})+\\s*=\\s*(${NUMBER_TEXT})`);

/**
 * The number an answer starts with ("12 (3 bags of 4)", "$1,200", "x = 5", and the result of "4 × 3 = 12", not its
 * first operand), or null when it starts with words.
 */
function leadingNumber(text: string): string | null {
  const plain = withoutThousands(text);
  const sum = WORKED_SUM.exec(plain);
  if (sum) return numberVote(sum[1]!);
  const match = LEADING_NUMBER.exec(plain.replace(/^\s*[a-z]\w{0,15}\s*=\s*/i, ""));
  return match ? numberVote(match[1]!) : null;
}

/**
 * Marks around an answer that say nothing about it: bold and italics, code ticks, LaTeX's \boxed{}. "**Final
 * answer:** 12" and "Final answer: **12**" are both 12. A `*` between two words or numbers (3*4) stays.
 */
const unmarked = (line: string) =>
  plainFractions(line)
    .replace(/\\boxed\{([^{}]*)\}/g, "$1")
    // LaTeX's math delimiters: "$12$", "\(12\)" and "\[12\]" are 12.
    .replace(/\\[()[\]]|\$/g, "")
    .replace(/`+/g, "")
    // Each run of marks is matched once, whole, and dropped when it opens or closes a word: a lookahead after a run
    // would be retried from every mark of a long one.
    .replace(/[*_]+/g, (run, at: number, whole: string) => {
      const before = at === 0 ? " " : whole[at - 1]!;
      const after = whole[at + run.length] ?? " ";
      return /[\s(:]/.test(before) || /[\s).,;:!?]/.test(after) ? "" : run;
    });

/** An answer's non-empty lines, trimmed and unmarked. */
const linesOf = (text: string) => text.trim().split("\n").map((line) => unmarked(line.trim()).trim()).filter(Boolean);

const ANSWER_MARK = /\b(?:final answer|answer)\s*(?:[:\-]|is\b:?)\s*/gi;

/**
 * The answer a line marks ("Final answer: X", "Answer: X", "the answer is X"), from the last line that marks one. Of
 * several marks on a line, the first whose answer is a number ("Final answer: The final answer is 12."), else the
 * first: a remark after the answer ("Final answer: 12. I'm sure this answer is right.") is not it.
 */
function markedAnswer(text: string): string | null {
  const lines = linesOf(text);
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i]!;
    const answers = [...line.matchAll(ANSWER_MARK)].map((mark) => line.slice(mark.index! + mark[0].length)).filter(Boolean);
    if (answers.length > 0) return answers.find((answer) => leadingNumber(answer) !== null) ?? answers[0]!;
  }
  return null;
}

function lastLine(text: string): string | null {
  const lines = linesOf(text);
  const marked = lines.map((l) => /^(?:final answer|answer)\s*[:\-]\s*(.+)$/i.exec(l)?.[1]).filter(Boolean).at(-1);
  return marked ? fold(marked) : lines.length > 1 ? fold(lines.at(-1)!) : null;
}

/** A JSON answer's vote: its `answer` (or `final_answer`, `result`) field when it has one, else all of it. */
function jsonAnswer(text: string): string | null {
  const trimmed = text.trim();
  if (!trimmed.startsWith("{") || !trimmed.endsWith("}")) return null;
  try {
    const value = JSON.parse(trimmed) as Record<string, unknown>;
    const field = ["answer", "final_answer", "result"].find((name) => name in value);
    const answer = field === undefined ? value : value[field];
    return typeof answer === "string" ? fold(answer) : typeof answer === "number" ? String(answer) : canonicalJson(answer);
  } catch {
    return null;
  }
}

/** A part of an answer that holds its value (a marked answer, a last line): the number it starts with, else its words. */
const valueOfPart = (part: string) => leadingNumber(part) ?? fold(part);

/**
 * The normalised final answer of a candidate, used as its vote. `auto`: a JSON answer's answer field; else the marked
 * answer; else, for an answer of several lines, its last line (the number it starts with or holds, else its words);
 * else the last number of a one-line answer ("It is 7."), or its words.
 */
export function finalAnswer(text: string, mode: ConsistencyOptions["answer"]): string {
  if (mode === "number") return lastNumber(text) ?? fold(text);
  if (mode === "last_line") return lastLine(text) ?? fold(text);
  if (mode === "text") return fold(text);
  const json = jsonAnswer(text);
  if (json !== null) return json;
  const marked = markedAnswer(text);
  if (marked !== null) return valueOfPart(marked);
  const lines = linesOf(text);
  if (lines.length > 1) return leadingNumber(lines.at(-1)!) ?? lastNumber(lines.at(-1)!) ?? fold(lines.at(-1)!);
  return lastNumber(text) ?? fold(text);
}

/**
 * What a candidate's vote is for. A call of tools is the whole call, name and arguments (its text spells the arguments
 * one way, src/openai/chat.ts): the last number in `get_weather({"city":"Rome","days":3})` says nothing about which
 * call it is.
 */
function answerOf(candidate: Candidate, mode: ConsistencyOptions["answer"]): string {
  // The calls alone: "Let me check." beside one call and "One moment." beside the same call are one vote.
  const calls = callsText(candidate.message);
  return calls !== "" ? `[calls] ${calls}` : finalAnswer(candidate.text, mode);
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
      judged = await knockout(inOrder(tied.map(representative)), ctx);
      winner = tied.map(representative).find((c) => c.index === judged!.winner)!;
      rationale = `${tied.length} answers tied with ${top} votes each; the judge chose: ${judged.rationale}`;
    } else {
      winner = tied.map(representative).sort((a, b) => tieBreakOrder(a, b))[0]!;
      rationale = `${tied.length} answers tied with ${top} votes each; chosen by the tie-break rule (${TIE_BREAK_STEPS}).`;
    }
    // Best first, answer by answer: the winner and its group, then the other tied answers in the order the judge (or
    // the rule) put them, then the rest by votes; each answer's most concise wording before its other ones. A client
    // asking for several choices gets the runner-up next, not whichever group came first.
    const groupOf = (candidate: Candidate) => ordered.find((g) => g.includes(candidate))!;
    const tiedOrder = judged
      ? judged.ranking.map((index) => groupOf(tied.map(representative).find((c) => c.index === index)!))
      : tied.map(representative).sort((a, b) => tieBreakOrder(a, b)).map(groupOf);
    const groupOrder = [...new Set([groupOf(winner), ...tiedOrder, ...ordered])];
    const lead = (group: Candidate[]) => (group.includes(winner) ? winner : representative(group));
    const ranking = groupOrder.flatMap((group) => [lead(group), ...group.filter((c) => c !== lead(group))]);
    return {
      winner: winner.index,
      ranking: ranking.map((c) => c.index),
      rationale,
      scores,
      ...(judged?.matches ? { matches: judged.matches } : {}),
      rounds: judged?.rounds ?? 0,
    };
  },
};
