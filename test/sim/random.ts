// The simulator's hidden quality of an answer, on the project's seeded hash.
import { hashText } from "../../src/util/random";

export { hashText, seededRandom } from "../../src/util/random";

/**
 * The hidden quality of a simulated answer: a deterministic function of its text, in [0, 1).
 * Anyone holding the text can compute it, so tests know the true best candidate.
 */
export function qualityOf(text: string): number {
  return hashText(`quality:${text.trim()}`) / 4294967296;
}
