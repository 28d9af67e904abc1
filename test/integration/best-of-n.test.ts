// The foundation's promise: the real openai SDK, pointed at verdict, gets the best of N candidates with a rationale.
import { describe, expect, it } from "vitest";
import { qualityOf } from "../sim/random";
import { chatBody, harness } from "../helpers";

interface VerdictInfo {
  strategy: string;
  n_candidates: number;
  winner: number;
  rationale: string;
  judge: { model: string; calls: number; cache_hits: number };
  usage: { generator: { total_tokens: number }; judge: { total_tokens: number } };
  candidates: { index: number; message: { content: string } }[];
}

describe("best-of-N through the openai SDK", () => {
  it("returns the candidate of highest hidden quality when the judge is perfect", async () => {
    const { client, sim } = harness({ sim: { judge: { accuracy: 1, bias: 0 } } });
    const completion = await client.chat.completions.create({
      ...chatBody(),
      // @ts-expect-error verdict is verdict's own request field
      verdict: { n: 4, tournament: "knockout", return_candidates: true },
    });
    const verdict = (completion as unknown as { verdict: VerdictInfo }).verdict;
    const texts = verdict.candidates.map((c) => c.message.content);
    expect(new Set(texts).size).toBe(4);
    const best = texts.reduce((a, b) => (qualityOf(a) >= qualityOf(b) ? a : b));

    expect(completion.choices).toHaveLength(1);
    expect(completion.choices[0]!.message.content).toBe(best);
    expect(texts[verdict.winner]).toBe(best);
    expect(verdict.strategy).toBe("pairwise");
    expect(verdict.n_candidates).toBe(4);
    expect(verdict.rationale).toMatch(/Simulated judge/);
    expect(verdict.judge.calls).toBe(6);
    expect(sim.count("judge")).toBe(6);
    expect(sim.count("generator")).toBe(1);

    const gen = verdict.usage.generator.total_tokens;
    const judge = verdict.usage.judge.total_tokens;
    expect(gen).toBeGreaterThan(0);
    expect(judge).toBeGreaterThan(0);
    expect(completion.usage!.total_tokens).toBe(gen + judge);
  });
});
