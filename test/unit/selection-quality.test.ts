// The default strategy's promise, on a seeded slice of the selection benchmark: better picks than the cheap method,
// within its call budget. Deterministic: the same seed gives the same trials.
import { describe, expect, it } from "vitest";
import { runCell } from "../../bench/selection";

describe("default selection quality (seeded benchmark slice)", () => {
  it.each(["flat", "gap"] as const)("beats single-order knockout at N = 8 under the %s judge, within 22 calls", async (model) => {
    const noise = { model, accuracy: 0.8, bias: 0.15, tau: 0.1 };
    const naive = await runCell(8, "knockout, one order", noise, 300, 7);
    const chosen = await runCell(8, "default (pairwise auto)", noise, 300, 7);
    expect(chosen.best_picked).toBeGreaterThan(naive.best_picked + 0.05);
    expect(chosen.mean_calls).toBeLessThanOrEqual(22);
  });
});
