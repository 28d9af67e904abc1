// Simulated generator text: seeded, varied answers that say plainly they come from a simulator, not a model.
import { hashText, seededRandom } from "./random";

const OPENINGS = [
  "Here is a short answer.",
  "In brief:",
  "The key point is this.",
  "Let me answer directly.",
  "There are a few things to consider.",
  "Short version first.",
];

const SENTENCES = [
  "The main idea can be stated in one line and checked against the question.",
  "A worked example usually makes the reasoning easier to follow.",
  "Edge cases matter, so they are listed separately below.",
  "The trade-off is between speed and accuracy, and it depends on the use.",
  "Most of the time the simplest correct option is the right one.",
  "It helps to state the assumptions before drawing a conclusion.",
  "A common mistake is to skip the verification step.",
  "The evidence points one way, with some uncertainty left.",
  "In practice, measuring beats guessing.",
  "Each step follows from the one before it.",
];

/** Topic words from the prompt, so answers to different prompts differ. */
function topicOf(prompt: string): string {
  const words = prompt.replace(/[^\p{L}\p{N}\s]/gu, " ").split(/\s+/).filter((w) => w.length > 3);
  return words.slice(0, 4).join(" ") || "your question";
}

export interface AnswerSpec {
  prompt: string;
  seed: number;
  minSentences: number;
  maxSentences: number;
}

/** One simulated answer: a deterministic function of prompt and seed. */
export function simulatedAnswer({ prompt, seed, minSentences, maxSentences }: AnswerSpec): string {
  const random = seededRandom(hashText(`${seed}:${prompt}`));
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const count = minSentences + Math.floor(random() * (maxSentences - minSentences + 1));
  const body = Array.from({ length: count }, () => pick(SENTENCES));
  return `[simulated answer #${seed % 10_000}] ${pick(OPENINGS)} About ${topicOf(prompt)}: ${body.join(" ")}`;
}

/** Crude token count (about four characters a token), enough for usage accounting in tests. */
export function countTokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}
