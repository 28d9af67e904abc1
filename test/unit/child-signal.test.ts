import { getEventListeners } from "node:events";
import { describe, expect, it } from "vitest";
import { childSignal } from "../../src/util/child-signal";

describe("childSignal", () => {
  it("follows its parent behind one listener however many children run at once, and lets go on release", () => {
    const parent = new AbortController();
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on("warning", onWarning);
    try {
      // A round-robin of 8 judges 28 pairs, all on the request's one signal.
      const children = Array.from({ length: 28 }, () => childSignal(parent.signal));
      expect(getEventListeners(parent.signal, "abort")).toHaveLength(1);
      children.slice(0, 20).forEach((child) => child.release());
      parent.abort(new Error("client left"));
      expect(children.slice(20).map((child) => (child.signal.reason as Error).message)).toEqual(Array(8).fill("client left"));
      expect(children.slice(0, 20).every((child) => !child.signal.aborted)).toBe(true);
    } finally {
      process.off("warning", onWarning);
    }
    expect(warnings.filter((warning) => warning.name === "MaxListenersExceededWarning")).toEqual([]);
  });

  it("aborts at once under a parent that has already aborted, and on its own time limit with the limit's reason", async () => {
    const gone = new AbortController();
    gone.abort(new Error("already gone"));
    expect((childSignal(gone.signal).signal.reason as Error).message).toBe("already gone");
    const parent = new AbortController();
    const timed = childSignal(parent.signal, { ms: 5, reason: () => new Error("too slow") });
    await new Promise((resolve) => timed.signal.addEventListener("abort", resolve));
    expect(timed.timedOut()).toBe(true);
    expect((timed.signal.reason as Error).message).toBe("too slow");
    expect(parent.signal.aborted).toBe(false);
  });
});
