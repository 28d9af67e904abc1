// Sorting drawn candidates before judging: identical ones merge, unusable ones rank last without a judge call.
import type { Candidate } from "../strategies/types";

export type Exclusion = "empty" | "truncated" | "content_filter";

/** Worst last: a truncated answer still says something, an empty one nothing. */
const EXCLUSION_ORDER: Exclusion[] = ["truncated", "content_filter", "empty"];

export function exclusionOf(candidate: Candidate): Exclusion | null {
  if (candidate.text.trim() === "") return "empty";
  if (candidate.finish_reason === "length") return "truncated";
  if (candidate.finish_reason === "content_filter") return "content_filter";
  return null;
}

export interface CandidatePool {
  all: Candidate[];
  /** Distinct, usable candidates: what the judge sees. */
  judgeable: Candidate[];
  excluded: Map<number, Exclusion>;
  /** Accepts a candidate; returns it when the judge should see it, null when excluded or merged into a twin. */
  admit(candidate: Candidate): Candidate | null;
  /** Excluded candidates, best first. */
  excludedRanking(): number[];
  byIndex(index: number): Candidate;
}

export function createCandidatePool(): CandidatePool {
  const all: Candidate[] = [];
  const judgeable: Candidate[] = [];
  const excluded = new Map<number, Exclusion>();
  const distinct = new Map<string, Candidate>();
  return {
    all,
    judgeable,
    excluded,
    admit(candidate) {
      all.push(candidate);
      const exclusion = exclusionOf(candidate);
      if (exclusion) {
        excluded.set(candidate.index, exclusion);
        return null;
      }
      const twin = distinct.get(candidate.text);
      if (twin) {
        twin.duplicates.push(candidate.index);
        return null;
      }
      distinct.set(candidate.text, candidate);
      judgeable.push(candidate);
      return candidate;
    },
    excludedRanking() {
      return [...excluded.entries()]
        .sort(([ia, a], [ib, b]) => EXCLUSION_ORDER.indexOf(a) - EXCLUSION_ORDER.indexOf(b) || ia - ib)
        .map(([index]) => index);
    },
    byIndex(index) {
      const found = all.find((c) => c.index === index);
      if (!found) throw new Error(`no candidate ${index}`);
      return found;
    },
  };
}
