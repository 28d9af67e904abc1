// A judge over candidates of known quality, for selection benchmarks: no HTTP, the simulator's error models, and a
// macrotask per call so that concurrent matches overlap as they would against a real server.
import { preferenceByQuality, type JudgeNoise } from "../test/sim/judge";
import type { GroundingVerdict, Judge, PairVerdict, ScoreVerdict } from "../strategies/types";

export interface CountingJudge extends Judge {
  /** Judge calls started (a cancelled call still cost a request to the server). */
  calls: number;
}

export function qualityJudge(quality: number[], noise: JudgeNoise, random: () => number): CountingJudge {
  const judge: CountingJudge = {
    calls: 0,
    async compare({ a, b }, signal): Promise<PairVerdict> {
      judge.calls += 1;
      await new Promise((resolve) => setImmediate(resolve));
      if (signal?.aborted) throw signal.reason;
      const winner = preferenceByQuality(quality[a.index]!, quality[b.index]!, noise, random);
      return { winner, reasoning: "", parsed: true };
    },
    async score({ candidate, scale }): Promise<ScoreVerdict> {
      judge.calls += 1;
      await new Promise((resolve) => setImmediate(resolve));
      const q = quality[candidate.index]!;
      const truth = Math.min(scale, 1 + Math.floor(q * scale));
      const score = random() < noise.accuracy ? truth : Math.max(1, Math.min(scale, truth + (random() < 0.5 ? -1 : 1)));
      return { score, normalised: (score - 1) / (scale - 1), justification: "", parsed: true };
    },
    async checkGrounding(): Promise<GroundingVerdict> {
      throw new Error("the selection benchmark has no documents to check against");
    },
  };
  return judge;
}
