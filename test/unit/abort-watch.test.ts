import { getEventListeners } from "node:events";
import { afterEach, describe, expect, it, vi } from "vitest";
import { abortWatchers, unwatchAbort, watchAbort } from "../../src/util/abort-watch";

afterEach(() => vi.restoreAllMocks());

describe("watchAbort", () => {
  it("runs each callback once when the signal aborts, in the order given, behind one listener", () => {
    const controller = new AbortController();
    const ran: string[] = [];
    watchAbort(controller.signal, () => ran.push("first"));
    watchAbort(controller.signal, () => ran.push("second"));
    watchAbort(controller.signal, () => ran.push("third"));
    expect(getEventListeners(controller.signal, "abort")).toHaveLength(1);
    controller.abort(new Error("gone"));
    controller.abort(new Error("again"));
    expect(ran).toEqual(["first", "second", "third"]);
    expect(abortWatchers(controller.signal)).toBe(0);
  });

  it("does not run a callback taken back, and keeps none of them", () => {
    const controller = new AbortController();
    const ran: string[] = [];
    const left = () => ran.push("left");
    const stays = () => ran.push("stays");
    watchAbort(controller.signal, left);
    watchAbort(controller.signal, stays);
    unwatchAbort(controller.signal, left);
    expect(abortWatchers(controller.signal)).toBe(1);
    controller.abort();
    expect(ran).toEqual(["stays"]);
  });

  it("runs nothing for a signal that has already aborted, as a listener added then would not", () => {
    const controller = new AbortController();
    controller.abort();
    const callback = vi.fn();
    watchAbort(controller.signal, callback);
    expect(callback).not.toHaveBeenCalled();
    expect(abortWatchers(controller.signal)).toBe(0);
  });

  it("runs the others when one throws, and reports the error apart", () => {
    const reported: (() => void)[] = [];
    vi.spyOn(globalThis, "queueMicrotask").mockImplementation((task) => void reported.push(task));
    const controller = new AbortController();
    const after = vi.fn();
    watchAbort(controller.signal, () => {
      throw new Error("broken callback");
    });
    watchAbort(controller.signal, after);
    controller.abort();
    expect(after).toHaveBeenCalledOnce();
    expect(reported).toHaveLength(1);
    expect(reported[0]!).toThrow("broken callback");
  });
});
