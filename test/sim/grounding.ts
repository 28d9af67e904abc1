// The simulator's stand-in for a groundedness check (documented as such, not a model): an answer passes when every
// content word it uses occurs in the document. An error rate flips verdicts, decided by a hash of the inputs, so the
// same inputs always get the same verdict and a test can recount them independently.
import { hashText } from "./random";

const STOPWORDS = new Set(
  ("the and for are was were that this with from have has had not but its his her their they them then than into " +
    "onto over under who whom what when where which while why how also very more most some such only just about " +
    "there here been being would could should will can may might did does doing done you your our out all any each " +
    "both one two first second yes").split(" "),
);

export function contentWords(text: string): string[] {
  return (text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []).filter((w) => w.length >= 3 && !STOPWORDS.has(w));
}

export interface GroundingCall {
  verdict: "PASS" | "FAIL";
  /** Content words of the answer that the document does not contain. */
  unsupported: string[];
  flipped: boolean;
}

export function simulatedGrounding(answer: string, document: string, errorRate: number, seed: number): GroundingCall {
  const known = new Set(contentWords(document));
  const unsupported = [...new Set(contentWords(answer))].filter((w) => !known.has(w));
  const flipped = errorRate > 0 && hashText(`${seed}:grounding:${answer}\u0000${document}`) / 4294967296 < errorRate;
  const supported = unsupported.length === 0;
  return { verdict: supported !== flipped ? "PASS" : "FAIL", unsupported, flipped };
}
