// A bound on calls in flight, the calls beyond it waiting their turn, and optionally a rate limit: each upstream's queue.
//
// Whose turn: requests take turns, a call each, and each request's own calls go in the order they came. A request is
// known by the signal its calls carry (one per request: its scope's). Why not one line in arrival order: a best-of-16
// puts some thirty judge calls in the line at once, and a best-of-2 arriving just after waited for all of them (its
// p50 went from 0.3 to 6.7 s beside such traffic in a probe); now it waits for one call of each request ahead of it.
//
// Why not p-queue for every call: per task it copies its options, names the task with a Symbol, records it in a Map
// with its start time, races the call against an abort listener of its own and emits three events. Measured with a
// fake fetch, that was about 20 µs of CPU per upstream call, and a best-of-4 request makes about eight calls. Here a
// free slot costs a counter, and only a call that has to wait makes a promise and listens for its signal.
//
// A rate limit (at most `cap` calls started per window of `intervalMs`, a window opening with the first call started
// after the last one closed) holds calls in the same turns: until the twenty-ninth session it was p-queue's, which
// served them in arrival order, so a best-of-16 at the front of a rate-limited queue held back everyone behind it.

export interface CallSlots {
  /**
   * Runs `call` in a slot, at once when one is free. A call that fails after `signal` aborted rejects with the signal's
   * reason, as an abort while waiting does: the request's reason (its budget spent, the client gone) is the truer one.
   * The slot is held until the call settles, so a call that ignores its signal still counts against the bound.
   * `wait`, when given, bounds the time spent waiting for a slot: past it the call is dropped and rejects with its reason.
   */
  run<T>(call: () => Promise<T>, signal?: AbortSignal, wait?: WaitLimit): Promise<T>;
  /** Whether a call run now would wait: every slot taken, or the rate limit's window used up. */
  wouldWait(): boolean;
  readonly running: number;
  readonly waiting: number;
}

/** At most `cap` calls start per `intervalMs`. */
export interface RateLimit {
  cap: number;
  intervalMs: number;
}

/** The longest a call may wait for a slot, and what it rejects with then (built only if it comes to that). */
export interface WaitLimit {
  ms: number;
  reason: () => unknown;
}

interface Waiter {
  start(): void;
}

type Owner = AbortSignal | undefined;

/** One request's waiting calls, and the request after it in taking turns. */
interface Line {
  owner: Owner;
  waiters: Waiter[];
  next: Line | undefined;
}

/**
 * The rate limit's clock: monotonic, so that a step of the wall clock (a correction, a resumed machine) neither holds
 * calls for as long as it stepped back nor opens a window early. With Date.now, as until the thirtieth session, a
 * clock set back an hour held every call past the window's cap for that hour.
 */
const clock = () => performance.now();

export function createCallSlots(limit: number, rate?: RateLimit): CallSlots {
  let running = 0;
  let waiting = 0;
  // The rate limit's current window: when it closes, and how many calls it has started.
  let windowEnds = -Infinity;
  let startedInWindow = 0;
  let windowTimer: ReturnType<typeof setTimeout> | undefined;
  // The requests with calls waiting, in the order they take their turns: a list through `next`, found by owner in the
  // Map. Not the Map's own order (delete, then set again to send a request to the back): that took about 6% more
  // instructions per best-of-4 with 50 requests in flight (bench:instructions) and about 4% more CPU under
  // bench:ab-load. Part of it is the walk from the front past the deleted entries a Map keeps until it is rebuilt.
  const lines = new Map<Owner, Line>();
  let first: Line | undefined;
  let last: Line | undefined;

  /** The first call of the request whose turn it is; that request then goes to the back, if it has more waiting. */
  const nextInTurn = (): Waiter | undefined => {
    for (let line = first; line !== undefined; line = first) {
      first = line.next;
      line.next = undefined;
      if (first === undefined) last = undefined;
      const waiter = line.waiters.shift();
      if (line.waiters.length === 0) lines.delete(line.owner); // every call of it left (aborted, timed out) or this one
      else if (last === undefined) first = last = line;
      else last = last.next = line;
      if (waiter !== undefined) {
        waiting -= 1;
        return waiter;
      }
    }
    return undefined;
  };

  const mayStart = () => running < limit && (rate === undefined || startedInWindow < rate.cap || clock() >= windowEnds);

  /** A call starts: it takes a slot, and a place in the rate limit's window (opening a new one if the last closed). */
  const take = () => {
    running += 1;
    if (rate === undefined) return;
    const now = clock();
    if (now >= windowEnds) {
      windowEnds = now + rate.intervalMs;
      startedInWindow = 0;
    }
    startedInWindow += 1;
  };

  /** Starts waiting calls while they may start; those held only by the rate limit are looked at again when it opens. */
  const startWaiting = () => {
    while (waiting > 0 && mayStart()) {
      const next = nextInTurn();
      if (next === undefined) return;
      take();
      next.start();
    }
    if (waiting > 0 && running < limit && windowTimer === undefined) {
      windowTimer = setTimeout(() => {
        windowTimer = undefined;
        startWaiting();
      }, Math.max(0, windowEnds - clock()));
    }
  };

  const release = () => {
    running -= 1;
    startWaiting();
  };

  function settle<T>(call: () => Promise<T>, signal: AbortSignal | undefined): Promise<T> {
    let result: Promise<T>;
    try {
      result = Promise.resolve(call()); // the same promise back when call returns one, as it does here
    } catch (err) {
      // Released a microtask later: a line of waiters that all throw at once would otherwise start each other on one
      // ever deeper stack.
      queueMicrotask(release);
      return Promise.reject(err);
    }
    return result.then(
      (value) => {
        release();
        return value;
      },
      (err: unknown) => {
        release();
        throw signal?.aborted ? signal.reason : err;
      },
    );
  }

  return {
    get running() {
      return running;
    },
    get waiting() {
      return waiting;
    },
    // Behind calls already waiting too: between a window opening and its timer firing, they go first.
    wouldWait: () => waiting > 0 || !mayStart(),
    run<T>(call: () => Promise<T>, signal?: AbortSignal, wait?: WaitLimit): Promise<T> {
      if (signal?.aborted) return Promise.reject(signal.reason);
      // Calls already waiting go first: a free slot with others waiting only comes from a rate limit's window.
      if (waiting === 0 && mayStart()) {
        take();
        return settle(call, signal);
      }
      return new Promise<T>((resolve, reject) => {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const leave = (reason: unknown) => {
          // Its request's line stays in turn even when this was its last call: nextInTurn drops it on the way.
          const waiters = lines.get(signal)?.waiters;
          const at = waiters?.indexOf(waiter) ?? -1;
          if (at >= 0) {
            waiters!.splice(at, 1);
            waiting -= 1;
          }
          if (timer !== undefined) clearTimeout(timer);
          // Nothing left to start: the rate limit's timer would only keep the process up until the window opens.
          if (waiting === 0 && windowTimer !== undefined) {
            clearTimeout(windowTimer);
            windowTimer = undefined;
          }
          signal?.removeEventListener("abort", onAbort);
          reject(reason);
        };
        const onAbort = () => leave(signal!.reason);
        const waiter: Waiter = {
          start() {
            signal?.removeEventListener("abort", onAbort);
            if (timer !== undefined) clearTimeout(timer);
            settle(call, signal).then(resolve, reject);
          },
        };
        signal?.addEventListener("abort", onAbort, { once: true });
        if (wait) timer = setTimeout(() => leave(wait.reason()), wait.ms);
        const line = lines.get(signal);
        if (line) line.waiters.push(waiter);
        else {
          const added: Line = { owner: signal, waiters: [waiter], next: undefined };
          lines.set(signal, added);
          if (last === undefined) first = last = added;
          else last = last.next = added;
        }
        waiting += 1;
        // Held by the rate limit alone: started when its window opens.
        if (running < limit) startWaiting();
      });
    },
  };
}
