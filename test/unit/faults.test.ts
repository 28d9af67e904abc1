// The simulator's fault picker: scripted faults first, then a seeded draw at the configured rate.
import { describe, expect, it } from "vitest";
import { createFaultPicker, faultsSchema } from "../sim/faults";

describe("fault picker", () => {
  it("plays the script first, then draws at the configured rate", () => {
    const picker = createFaultPicker(faultsSchema.parse({ judge: { script: ["reset", "ok", "hang"], rate: 0 } }), 1);
    expect([1, 2, 3, 4].map(() => picker.pick("judge"))).toEqual(["reset", null, "hang", null]);
    expect(picker.pick("generator")).toBeNull();
    expect(picker.injected.judge).toEqual({ reset: 1, hang: 1 });
  });

  it("is reproducible from the seed and injects about `rate` of calls, spread over the kinds", () => {
    const options = faultsSchema.parse({ generator: { rate: 0.1 } });
    const run = (seed: number) => {
      const picker = createFaultPicker(options, seed);
      return Array.from({ length: 4_000 }, () => picker.pick("generator"));
    };
    const first = run(7);
    expect(run(7)).toEqual(first);
    expect(run(8)).not.toEqual(first);
    const faulted = first.filter((f) => f !== null);
    expect(faulted.length).toBeGreaterThan(320);
    expect(faulted.length).toBeLessThan(480);
    expect(new Set(faulted).size).toBe(13);
  });
});
