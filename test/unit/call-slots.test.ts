// The upstream queue: at most `concurrency` calls at once, the rest started in turns (requests in turn, each one's
// calls in order), aborts honoured while waiting and while running, and (through createUpstream) the 429 when too many wait and the rate limit.
import { describe, expect, it, vi } from "vitest";
import { createCallSlots } from "../../src/util/call-slots";
import { createUpstream } from "../../src/upstream";
import { abortWatchers } from "../../src/util/abort-watch";

function deferred<T = string>() {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

/** Runs `test` on vitest's fake clock and timers (a rate limit's windows), then puts the real ones back. */
async function onFakeTimers(test: () => Promise<void>): Promise<void> {
  vi.useFakeTimers();
  try {
    await test();
  } finally {
    vi.useRealTimers();
  }
}

describe("call slots", () => {
  it("runs at most `limit` calls at once and starts the waiting ones in arrival order", async () => {
    const slots = createCallSlots(2);
    const started: number[] = [];
    const gates = Array.from({ length: 5 }, () => deferred());
    const results = gates.map((gate, i) =>
      slots.run(() => {
        started.push(i);
        return gate.promise;
      }),
    );
    const outcomes = Promise.allSettled(results);
    expect(started).toEqual([0, 1]);
    expect([slots.running, slots.waiting]).toEqual([2, 3]);
    gates[1]!.resolve("one");
    await tick();
    expect(started).toEqual([0, 1, 2]);
    gates[0]!.reject(new Error("zero failed"));
    await tick();
    expect(started).toEqual([0, 1, 2, 3]);
    for (const gate of gates.slice(2)) gate.resolve("later");
    await tick();
    expect(started).toEqual([0, 1, 2, 3, 4]);
    const [zero, one] = await outcomes;
    expect(zero).toMatchObject({ status: "rejected", reason: new Error("zero failed") });
    expect(one).toEqual({ status: "fulfilled", value: "one" });
    expect([slots.running, slots.waiting]).toEqual([0, 0]);
  });

  it("lets requests take turns: a request's one call waits behind one call of each request ahead, not all of them", async () => {
    const slots = createCallSlots(1);
    const heavy = new AbortController();
    const light = new AbortController();
    const started: string[] = [];
    const gates: ReturnType<typeof deferred<string>>[] = [];
    const call = (name: string, signal: AbortSignal) =>
      slots.run(() => {
        started.push(name);
        const gate = deferred();
        gates.push(gate);
        return gate.promise;
      }, signal);
    const calls = [call("heavy 0", heavy.signal), ...[1, 2, 3, 4].map((i) => call(`heavy ${i}`, heavy.signal)), call("light 0", light.signal), call("light 1", light.signal)];
    expect([slots.running, slots.waiting]).toEqual([1, 6]);
    for (let i = 0; i < 6; i++) {
      gates[i]!.resolve("done");
      await tick();
    }
    // The light request's calls go in the order it made them, each after one of the heavy request's.
    expect(started).toEqual(["heavy 0", "heavy 1", "light 0", "heavy 2", "light 1", "heavy 3", "heavy 4"]);
    gates[6]!.resolve("done");
    await Promise.all(calls);
    expect([slots.running, slots.waiting]).toEqual([0, 0]);
  });

  it("keeps the turns right when a waiting request leaves", async () => {
    const slots = createCallSlots(1);
    const [first, leaving, last] = [new AbortController(), new AbortController(), new AbortController()];
    const started: string[] = [];
    const gate = deferred();
    const running = slots.run(() => gate.promise, first.signal);
    const waiting = [
      slots.run(async () => void started.push("leaving 0"), leaving.signal),
      slots.run(async () => void started.push("leaving 1"), leaving.signal),
      slots.run(async () => void started.push("last 0"), last.signal),
    ];
    expect(slots.waiting).toBe(3);
    leaving.abort(new Error("client left"));
    expect(slots.waiting).toBe(1);
    gate.resolve("done");
    await running;
    await expect(Promise.allSettled(waiting)).resolves.toMatchObject([{ status: "rejected" }, { status: "rejected" }, { status: "fulfilled" }]);
    expect(started).toEqual(["last 0"]);
    expect([slots.running, slots.waiting]).toEqual([0, 0]);
  });

  it("serves a request that calls again after all its waiting calls gave up and its turn has passed", async () => {
    const slots = createCallSlots(1);
    const [again, other] = [new AbortController(), new AbortController()];
    const started: string[] = [];
    const first = deferred();
    const running = slots.run(() => first.promise);
    const gaveUp = slots.run(async () => void started.push("gave up"), again.signal, { ms: 5, reason: () => new Error("waited too long") });
    await expect(gaveUp).rejects.toThrow("waited too long");
    const second = deferred();
    const otherCall = slots.run(() => (started.push("other"), second.promise), other.signal);
    first.resolve("done");
    await running;
    await tick();
    // The turn of the request that gave up came and went (it had nothing waiting); "other" runs. Now it calls again.
    expect(started).toEqual(["other"]);
    const againCall = slots.run(async () => void started.push("again"), again.signal);
    expect(slots.waiting).toBe(1);
    second.resolve("done");
    await Promise.all([otherCall, againCall]);
    expect(started).toEqual(["other", "again"]);
    expect([slots.running, slots.waiting]).toEqual([0, 0]);
  });

  it("frees the slot when a call throws before returning a promise", async () => {
    const slots = createCallSlots(1);
    await expect(
      slots.run(() => {
        throw new Error("sync failure");
      }),
    ).rejects.toThrow("sync failure");
    expect(slots.running).toBe(0);
    await expect(slots.run(async () => "next")).resolves.toBe("next");
  });

  it("survives a long line of waiters that all throw at once, and takes a call that returns a plain value", async () => {
    const slots = createCallSlots(1);
    const busy = deferred();
    const first = slots.run(() => busy.promise);
    const throwing = Array.from({ length: 5_000 }, (_, i) =>
      slots.run(() => {
        throw new Error(`waiter ${i}`);
      }),
    );
    const settled = Promise.allSettled(throwing);
    busy.resolve("first");
    await expect(first).resolves.toBe("first");
    const outcomes = await settled;
    expect(outcomes.every((o) => o.status === "rejected")).toBe(true);
    expect([slots.running, slots.waiting]).toEqual([0, 0]);
    await expect(slots.run((() => "plain") as unknown as () => Promise<string>)).resolves.toBe("plain");
    expect(slots.running).toBe(0);
  });

  it("drops a waiting call whose signal aborts, with the signal's reason, and never starts it", async () => {
    const slots = createCallSlots(1);
    const busy = deferred();
    const first = slots.run(() => busy.promise);
    const controller = new AbortController();
    let started = false;
    const waiting = slots.run(async () => {
      started = true;
      return "never";
    }, controller.signal);
    const third = slots.run(async () => "third");
    const reason = new Error("client left");
    controller.abort(reason);
    await expect(waiting).rejects.toBe(reason);
    expect(slots.waiting).toBe(1);
    busy.resolve("first");
    await expect(first).resolves.toBe("first");
    await expect(third).resolves.toBe("third");
    expect(started).toBe(false);
    expect([slots.running, slots.waiting]).toEqual([0, 0]);
  });

  it("refuses at once when the signal has already aborted", async () => {
    const slots = createCallSlots(1);
    let started = false;
    const reason = new Error("gone");
    await expect(
      slots.run(async () => {
        started = true;
      }, AbortSignal.abort(reason)),
    ).rejects.toBe(reason);
    expect(started).toBe(false);
    expect(slots.running).toBe(0);
  });

  it("with a rate limit, starts a call only when both a slot and a place in the window are free", () =>
    onFakeTimers(async () => {
      const slots = createCallSlots(1, { cap: 2, intervalMs: 1_000 });
      const startedAt: Record<string, number> = {};
      const t0 = Date.now();
      const gates = { a: deferred(), b: deferred(), c: deferred() };
      const call = (name: keyof typeof gates) => slots.run(() => ((startedAt[name] = Date.now() - t0), gates[name].promise));
      const calls = [call("a"), call("b"), call("c")];
      expect([slots.running, slots.waiting, slots.wouldWait()]).toEqual([1, 2, true]);
      await vi.advanceTimersByTimeAsync(10);
      gates.a.resolve("a"); // its slot goes to b, the window's second call
      await vi.advanceTimersByTimeAsync(10);
      expect(startedAt).toEqual({ a: 0, b: 10 });
      gates.b.resolve("b"); // a slot is free, but the window has started two calls: c waits for the next one
      await vi.advanceTimersByTimeAsync(10);
      expect([slots.running, slots.waiting, startedAt.c]).toEqual([0, 1, undefined]);
      await vi.advanceTimersByTimeAsync(1_000);
      expect(startedAt.c).toBe(1_000);
      gates.c.resolve("c");
      await expect(Promise.all(calls)).resolves.toEqual(["a", "b", "c"]);
      // The next window opens with the next call, whenever it comes: one now starts at once.
      await vi.advanceTimersByTimeAsync(5_000);
      expect(slots.wouldWait()).toBe(false);
      await expect(slots.run(async () => "later")).resolves.toBe("later");
    }));

  it("with a rate limit, says a call would wait while others wait, also once their window is open but not yet begun", () =>
    onFakeTimers(async () => {
      const slots = createCallSlots(4, { cap: 1, intervalMs: 1_000 });
      await slots.run(async () => "first");
      const waiting = slots.run(async () => "second");
      expect(slots.wouldWait()).toBe(true);
      vi.setSystemTime(Date.now() + 1_500); // the clock moves on, the window's timer has not run yet
      expect(slots.wouldWait()).toBe(true);
      await vi.advanceTimersByTimeAsync(1_000); // and now it has
      await expect(waiting).resolves.toBe("second");
      expect(slots.wouldWait()).toBe(true); // the new window's one call is taken
    }));

  it("with a rate limit, opens the next window on time when the wall clock is set back", () =>
    onFakeTimers(async () => {
      const slots = createCallSlots(4, { cap: 1, intervalMs: 1_000 });
      await slots.run(async () => "first");
      vi.setSystemTime(Date.now() - 3_600_000); // an hour back: a correction, a machine resumed
      let started = false;
      const waiting = slots.run(async () => ((started = true), "second"));
      await vi.advanceTimersByTimeAsync(999);
      expect(started).toBe(false); // the window still holds its one call
      await vi.advanceTimersByTimeAsync(1);
      expect(started).toBe(true);
      await expect(waiting).resolves.toBe("second");
    }));

  it("with a rate limit, leaves no timer behind once every call waiting for the window has left", () =>
    onFakeTimers(async () => {
      const slots = createCallSlots(4, { cap: 1, intervalMs: 60_000 });
      await slots.run(async () => "first");
      const leaving = new AbortController();
      const waiting = slots.run(async () => "never", leaving.signal);
      expect(vi.getTimerCount()).toBe(1); // the window's
      leaving.abort(new Error("client left"));
      await expect(waiting).rejects.toThrow("client left");
      expect(vi.getTimerCount()).toBe(0);
    }));

  it("reports a running call that fails after its signal aborted with the signal's reason", async () => {
    const slots = createCallSlots(1);
    const controller = new AbortController();
    const call = deferred();
    const running = slots.run(() => call.promise, controller.signal);
    const reason = new Error("budget spent");
    controller.abort(reason);
    call.reject(new Error("socket closed"));
    await expect(running).rejects.toBe(reason);
    expect(slots.running).toBe(0);
  });
});

describe("upstream queue", () => {
  const settings = { base_url: "http://upstream.test/v1", timeout_ms: 1_000, max_retries: 0, concurrency: 1, max_queued: 1 };
  const unused = (() => Promise.reject(new Error("no fetch here"))) as typeof fetch;

  it("answers 429 queue_full once `max_queued` calls wait, and lets calls through again when they have gone", async () => {
    const upstream = createUpstream("judge", settings, unused);
    const busy = deferred();
    const first = upstream.schedule(() => busy.promise);
    const second = upstream.schedule(async () => "second");
    expect(upstream.pending).toBe(2);
    await expect(upstream.schedule(async () => "third")).rejects.toMatchObject({ status: 429, code: "queue_full" });
    busy.resolve("first");
    await expect(Promise.all([first, second])).resolves.toEqual(["first", "second"]);
    expect(upstream.pending).toBe(0);
    await expect(upstream.schedule(async () => "again")).resolves.toBe("again");
  });

  it("keeps a rate limit's interval: no more than interval_cap calls start per interval_ms", async () => {
    const upstream = createUpstream("judge", { ...settings, concurrency: 10, max_queued: 10, interval_ms: 300, interval_cap: 2 }, unused);
    const startedAt: number[] = [];
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: 3 }, () =>
        upstream.schedule(async () => {
          startedAt.push(performance.now() - t0);
        }),
      ),
    );
    expect(startedAt[1]).toBeLessThan(250);
    // The third waits for the next window; a lower bound only, so a slow machine cannot fail it.
    expect(startedAt[2]).toBeGreaterThanOrEqual(250);
  });

  it("under a rate limit, lets requests take turns as without one, each window's calls going a call per request", () =>
    onFakeTimers(async () => {
      const upstream = createUpstream("judge", { ...settings, concurrency: 10, max_queued: 10, interval_ms: 1_000, interval_cap: 1 }, unused);
      const [heavy, light] = [new AbortController(), new AbortController()];
      const started: string[] = [];
      const call = (name: string, signal: AbortSignal) => upstream.schedule(async () => void started.push(name), signal);
      const calls = [...[0, 1, 2, 3].map((i) => call(`heavy ${i}`, heavy.signal)), call("light 0", light.signal), call("light 1", light.signal)];
      expect(started).toEqual(["heavy 0"]);
      await vi.advanceTimersByTimeAsync(999);
      expect(started).toEqual(["heavy 0"]); // one call per window
      for (let window = 1; window < 6; window++) await vi.advanceTimersByTimeAsync(1_000);
      await Promise.all(calls);
      // Arrival order would have run all four heavy calls before either light one.
      expect(started).toEqual(["heavy 0", "heavy 1", "light 0", "heavy 2", "light 1", "heavy 3"]);
    }));

  it("keeps max_queued under a rate limit too, where calls wait for a window with slots still free", async () => {
    const upstream = createUpstream("judge", { ...settings, concurrency: 10, max_queued: 2, interval_ms: 60_000, interval_cap: 1 }, unused);
    const controller = new AbortController();
    const calls = Array.from({ length: 3 }, () => upstream.schedule(async () => "ran", controller.signal).catch(() => "aborted"));
    // One starts in this window; two wait for the next one, which is the bound.
    await expect(upstream.schedule(async () => "fourth")).rejects.toMatchObject({ status: 429, code: "queue_full" });
    controller.abort();
    expect(await Promise.all(calls)).toEqual(["ran", "aborted", "aborted"]);
  });

  it("under a rate limit with max_queued 0, still runs a call that can start now", async () => {
    const upstream = createUpstream("judge", { ...settings, concurrency: 4, max_queued: 0, interval_ms: 1_000, interval_cap: 10 }, unused);
    await expect(upstream.schedule(async () => "ran")).resolves.toBe("ran");
  });

  it("under a rate limit with max_queued 0, refuses at once a call that would wait for the next window", async () => {
    const upstream = createUpstream("judge", { ...settings, concurrency: 4, max_queued: 0, interval_ms: 60_000, interval_cap: 1 }, unused);
    await expect(upstream.schedule(async () => "first")).resolves.toBe("first");
    // This window's one call is used up and nothing waits: the second would wait a minute, so it is refused now.
    const started: string[] = [];
    await expect(upstream.schedule(async () => started.push("second"))).rejects.toMatchObject({ status: 429, code: "queue_full" });
    expect(started).toEqual([]);
    expect(upstream.pending).toBe(0);
  });

  it("under a rate limit, a refused call takes no place in the window, and a call leaves no watcher on the request's signal", async () => {
    const upstream = createUpstream("judge", { ...settings, concurrency: 1, max_queued: 0, interval_ms: 60_000, interval_cap: 2 }, unused);
    const request = new AbortController();
    const busy = deferred();
    const first = upstream.schedule(() => busy.promise, request.signal);
    // The one slot is taken: the second call would wait for it, beyond max_queued 0.
    await expect(upstream.schedule(async () => "second", request.signal)).rejects.toMatchObject({ status: 429, code: "queue_full" });
    busy.resolve("first");
    await expect(first).resolves.toBe("first");
    // The window allows two calls; the refused one did not count, so a third still starts in it.
    await expect(upstream.schedule(async () => "third", request.signal)).resolves.toBe("third");
    expect(abortWatchers(request.signal)).toBe(0);
  });
});
