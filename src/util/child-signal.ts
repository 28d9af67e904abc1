// A signal for one piece of work inside a larger one: it aborts when its parent does and, given a time limit, when
// that runs out. It follows its parent through watchAbort (src/util/abort-watch.ts), one listener for all the
// children of a parent at once: a request judging a round-robin of 8 has 28 calls on its signal, and a listener each
// made Node warn of a leak (MaxListenersExceededWarning) past 10. release() takes the child back, so a long-lived
// parent does not collect one per call; AbortSignal.any would keep its composite signal alive instead.
import { unwatchAbort, watchAbort } from "./abort-watch";

export interface ChildSignal {
  signal: AbortSignal;
  /** True when the time limit, not the parent, aborted it. */
  timedOut(): boolean;
  /** Starts a time limit now, for a child made without one (the rest of a call whose first part another timer bounds). */
  startTimer(limit: TimeLimit): void;
  /** Stops the timer only: the work goes on (a stream) and must still end when the parent aborts. */
  stopTimer(): void;
  /** Stops the timer and stops following the parent. */
  release(): void;
  /** Aborts this child (and what follows it) alone, with `reason`; the parent goes on. */
  abort(reason: unknown): void;
}

export interface TimeLimit {
  ms: number;
  /** Built only when the time runs out (an Error captures a stack: not worth paying for on every call). */
  reason: () => unknown;
}

/**
 * Reasons given by a time limit running out. Whoever sees only the signal (the fetch that counts upstream attempts,
 * src/metrics/fetch.ts) can then tell a timeout from a cancellation: children of this signal abort with the same reason.
 */
const timeLimitReasons = new WeakSet<object>();

/** True when an abort's reason is a time limit's (above). */
export function isTimeLimitReason(reason: unknown): boolean {
  return typeof reason === "object" && reason !== null && timeLimitReasons.has(reason);
}

export function childSignal(parent: AbortSignal | undefined, limit?: TimeLimit): ChildSignal {
  const controller = new AbortController();
  const follow = () => controller.abort(parent!.reason);
  if (parent?.aborted) follow();
  else if (parent) watchAbort(parent, follow);
  let timedOut = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const startTimer = ({ ms, reason }: TimeLimit) => {
    timer = setTimeout(() => {
      timedOut = true;
      const why = reason();
      if (typeof why === "object" && why !== null) timeLimitReasons.add(why);
      controller.abort(why);
    }, ms);
  };
  if (limit) startTimer(limit);
  const stopTimer = () => {
    if (timer !== undefined) clearTimeout(timer);
  };
  return {
    signal: controller.signal,
    timedOut: () => timedOut,
    startTimer,
    stopTimer,
    release() {
      stopTimer();
      if (parent) unwatchAbort(parent, follow);
    },
    abort: (reason) => controller.abort(reason),
  };
}
