// The simulated judge: reads the pairwise prompt, prefers the answer of higher hidden quality, with noise and bias.
import { qualityOf } from "./random";

export interface JudgeNoise {
  accuracy: number;
  bias: number;
}

/** Which of two answers the simulated judge names, shown as (first, second). */
export function simulatedPreference(first: string, second: string, noise: JudgeNoise, random: () => number): "A" | "B" {
  if (random() < noise.bias) return "A";
  const firstIsBetter = qualityOf(first) >= qualityOf(second);
  const correct = random() < noise.accuracy;
  return firstIsBetter === correct ? "A" : "B";
}

function section(text: string, tag: string): string | null {
  const match = new RegExp(`<${tag}>\\n?([\\s\\S]*?)\\n?</${tag}>`).exec(text);
  return match ? match[1]!.replace(/&lt;(\/?\w+)&gt;/g, "<$1>") : null;
}

/** The two answers of a pairwise judge prompt, or null when the text is not one. */
export function readPairwisePrompt(userText: string): { a: string; b: string } | null {
  const a = section(userText, "response_a");
  const b = section(userText, "response_b");
  return a === null || b === null ? null : { a, b };
}

export function pairwiseReply(a: string, b: string, winner: "A" | "B", style: "json" | "text"): string {
  const reasoning =
    `Simulated judge, not a model: response A has hidden quality ${qualityOf(a).toFixed(3)}, ` +
    `response B ${qualityOf(b).toFixed(3)}; it named ${winner}.`;
  return style === "json" ? JSON.stringify({ reasoning, winner }) : `${reasoning}\n\nVerdict: [[${winner}]]`;
}
