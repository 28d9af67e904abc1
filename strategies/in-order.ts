// Candidates already in hand, as the stream a strategy reads (a guard's inner pick, a knockout's playoff).
import type { Candidate } from "./types";

export async function* inOrder(candidates: Candidate[]): AsyncGenerator<Candidate> {
  yield* candidates;
}
