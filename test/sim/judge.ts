// The simulated judge: reads verdict's pairwise and rubric prompts and answers by hidden quality, with noise and
// position bias, in the JSON the prompt asks for. Optionally with token logprobs at the verdict.
import { simulatedGrounding } from "./grounding";
import { qualityOf } from "./random";

/**
 * How the simulated judge errs. Both models first name the answer shown first with probability `bias` (position
 * bias). Otherwise, `flat` names the truly better answer with probability `accuracy` whatever the pair; `gap` names it
 * with probability 1 / (1 + exp(-gap / tau)), so near-equal answers are coin flips and clear gaps are easy, as with
 * real judges.
 */
export interface JudgeNoise {
  model?: "flat" | "gap";
  accuracy: number;
  bias: number;
  tau?: number;
}

export interface JudgeStyle extends JudgeNoise {
  style: "json" | "text";
  /** Groundedness checks: the share of verdicts flipped (see test/sim/grounding.ts). */
  grounding_error_rate?: number;
}

/** Which of two answers of known quality the simulated judge names, shown as (first, second). */
export function preferenceByQuality(first: number, second: number, noise: JudgeNoise, random: () => number): "A" | "B" {
  if (random() < noise.bias) return "A";
  const gap = Math.abs(first - second);
  const pCorrect = noise.model === "gap" ? 1 / (1 + Math.exp(-gap / (noise.tau ?? 0.1))) : noise.accuracy;
  const correct = random() < pCorrect;
  return first >= second === correct ? "A" : "B";
}

/** Which of two simulated answers the judge names, by their hidden quality. */
export function simulatedPreference(first: string, second: string, noise: JudgeNoise, random: () => number): "A" | "B" {
  return preferenceByQuality(qualityOf(first), qualityOf(second), noise, random);
}

/** The true grade of an answer on a 1..scale rubric, and the judge's noisy reading of it. */
export function simulatedScore(answer: string, scale: number, noise: JudgeNoise, random: () => number): number {
  const truth = Math.min(scale, 1 + Math.floor(qualityOf(answer) * scale));
  if (random() < noise.accuracy) return truth;
  const off = truth === 1 ? 1 : truth === scale ? -1 : random() < 0.5 ? -1 : 1;
  return truth + off;
}

function section(text: string, tag: string): string | null {
  const match = new RegExp(`<${tag}>\\n([\\s\\S]*?)\\n</${tag}>`).exec(text);
  // Undo verdict's defusing of tag look-alikes, so the judge scores the text the candidate wrote.
  return match ? match[1]!.replace(/&lt;(\/?\w+[^<>]*?)&gt;/g, "<$1>") : null;
}

export interface JudgeReply {
  text: string;
  logprobs: unknown;
  /** For a pairwise prompt: the two answers as the judge read them. */
  pair?: { a: string; b: string };
}

/** Logprobs that put p on the named letter at its position in the text, and 1 - p on the other one. */
function verdictLogprobs(text: string, letterAt: number, named: "A" | "B", p: number) {
  const other = named === "A" ? "B" : "A";
  const token = (t: string, logprob = 0) => ({ token: t, logprob, bytes: null, top_logprobs: [] as unknown[] });
  const letter = {
    ...token(named, Math.log(p)),
    top_logprobs: [
      { token: named, logprob: Math.log(p), bytes: null },
      { token: other, logprob: Math.log(1 - p), bytes: null },
    ],
  };
  return { content: [token(text.slice(0, letterAt)), letter, token(text.slice(letterAt + 1))], refusal: null };
}

/** The judge's answer to a prompt, or null when the prompt is not one of verdict's judge prompts. */
export function judgeReply(userText: string, options: JudgeStyle, random: () => number, withLogprobs: boolean, seed = 1): JudgeReply | null {
  const [question, document, answer] = [section(userText, "QUESTION"), section(userText, "DOCUMENT"), section(userText, "ANSWER")];
  if (question !== null && document !== null && answer !== null) {
    const call = simulatedGrounding(answer, document, options.grounding_error_rate ?? 0, seed);
    const found = call.unsupported.length
      ? `the document lacks ${call.unsupported.slice(0, 5).join(", ")}`
      : "every content word of the answer is in the document";
    const reasoning = `Simulated check, not a model: ${found}${call.flipped ? " (verdict flipped: a simulated error)" : ""}.`;
    const text = options.style === "json" ? JSON.stringify({ REASONING: reasoning, VERDICT: call.verdict }) : `${reasoning}\nVERDICT: ${call.verdict}`;
    return { text, logprobs: null };
  }
  const [a, b] = [section(userText, "response_a"), section(userText, "response_b")];
  if (a !== null && b !== null) {
    const winner = simulatedPreference(a, b, options, random);
    const reasoning =
      `Simulated judge, not a model: response A has hidden quality ${qualityOf(a).toFixed(3)}, ` +
      `response B ${qualityOf(b).toFixed(3)}; it named ${winner}.`;
    const text = options.style === "json" ? JSON.stringify({ reasoning, winner }) : `${reasoning}\n\nVerdict: [[${winner}]]`;
    // Confidence grows with the quality gap: close pairs come out near 0.5.
    const confidence = 0.5 + 0.45 * Math.abs(qualityOf(a) - qualityOf(b));
    const letterAt = options.style === "json" ? text.lastIndexOf(`"${winner}"`) + 1 : text.lastIndexOf(`[[${winner}]]`) + 2;
    return { text, logprobs: withLogprobs ? verdictLogprobs(text, letterAt, winner, confidence) : null, pair: { a, b } };
  }
  const [rubric, response] = [section(userText, "rubric"), section(userText, "response")];
  if (rubric !== null && response !== null) {
    const scale = Number(/from 1 to (\d+)/.exec(userText)?.[1] ?? 5);
    const score = simulatedScore(response, scale, options, random);
    const justification = `Simulated judge, not a model: hidden quality ${qualityOf(response).toFixed(3)} reads as ${score} of ${scale}.`;
    const text = options.style === "json" ? JSON.stringify({ justification, score }) : `${justification}\nScore: ${score}`;
    return { text, logprobs: null };
  }
  return null;
}
