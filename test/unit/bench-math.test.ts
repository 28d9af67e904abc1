// The figures the benchmarks report: order statistics, and the floors best-of-N wall times are read against.
import { describe, expect, it, vi } from "vitest";
import { finaleFloor, knockoutFloor, roundRobinFloor } from "../../bench/bestof";
import { median, quantile } from "../../bench/stats";
import { knockout } from "../../strategies/knockout";
import { arrive, byQuality, candidate, ctxWith, scriptedJudge } from "../scripted-judge";
import { seededRandom } from "../sim/random";

describe("quantile", () => {
  it("is the nearest rank: the least value with at least that share at or below it", () => {
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2);
    expect(quantile([1, 2, 3, 4], 0.25)).toBe(1);
    expect(quantile([1, 2, 3, 4], 0.75)).toBe(3);
    const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(quantile(hundred, 0.99)).toBe(99);
    expect(quantile(hundred, 0.5)).toBe(50);
    expect(quantile(hundred, 1)).toBe(100);
    expect(quantile(hundred, 0)).toBe(1);
    expect(quantile([], 0.5)).toBe(0);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });
});

describe("best-of-N floors (judge call 300 ms)", () => {
  it("knockout: the two contestants ready first are merged first, each merge one call later", () => {
    expect(knockoutFloor([0, 0, 100, 100], 300)).toBe(700); // (0,0) 300, (100,100) 400, final 700
    expect(knockoutFloor([0, 0, 0, 1000], 300)).toBe(1300); // the first three are merged by 600; the last needs one call
    expect(knockoutFloor([500], 300)).toBe(500); // one candidate: nothing to judge
  });

  it("round-robin: one call after the last arrival", () => {
    expect(roundRobinFloor([0, 200, 1000], 300)).toBe(1300);
  });

  it("knockout with a finale: one call after the last arrival once at most six are left", () => {
    expect(finaleFloor([0, 100, 200, 1000], 300)).toBe(1300);
    // Eight arriving together: two merges must end (at 300) before six are left for the finale.
    expect(finaleFloor(Array(8).fill(0), 300)).toBe(600);
    // Sixteen at once: ten merges, the first eight end at 300 and two more at 600, then the finale.
    expect(finaleFloor(Array(16).fill(0), 300)).toBe(900);
    // Fewer than three left when the last arrives: no finale, the bracket's own final.
    expect(finaleFloor([0, 0, 0, 1000], 300)).toBe(1300);
    expect(finaleFloor([0, 1000], 300)).toBe(1300);
  });

  it("are when verdict's own knockouts end, with and without a finale, when every match takes one judge call", async () => {
    vi.useFakeTimers();
    try {
      const random = seededRandom(7);
      for (let trial = 0; trial < 200; trial++) {
        const n = 2 + Math.floor(random() * 15);
        const arrivals = Array.from({ length: n }, () => 200 + Math.floor(random() * 1300)).sort((a, b) => a - b);
        const gaps = arrivals.map((t, i) => t - (arrivals[i - 1] ?? 0));
        const quality = arrivals.map(() => random());
        for (const finale of [false, true]) {
          const started = Date.now();
          const ended = knockout(arrive(arrivals.map((_, i) => candidate(i)), gaps), ctxWith(scriptedJudge(byQuality(quality), 300), n), undefined, finale ? {} : undefined).then(() => Date.now() - started);
          await vi.runAllTimersAsync();
          expect([n, finale, await ended]).toEqual([n, finale, (finale ? finaleFloor : knockoutFloor)(arrivals, 300)]);
        }
      }
    } finally {
      vi.useRealTimers();
    }
  });
});
