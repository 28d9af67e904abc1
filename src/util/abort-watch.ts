// Callbacks for a signal's abort, behind one listener per signal. A request's upstream calls all follow its one
// signal, each only while it runs: adding and removing a Node EventTarget listener per call was about 2% of a
// best-of-4's CPU under load (bench/README.md), and each listener is a few more objects kept while the call waits.

const watchers = new WeakMap<AbortSignal, Set<() => void>>();

/**
 * Runs `callback` once when `signal` aborts, unless unwatchAbort takes it back first. As with an abort listener, nothing
 * runs for a signal that has already aborted, and a callback that throws does not keep the others from running.
 */
export function watchAbort(signal: AbortSignal, callback: () => void): void {
  if (signal.aborted) return;
  let callbacks = watchers.get(signal);
  if (callbacks === undefined) {
    const watching = (callbacks = new Set());
    signal.addEventListener(
      "abort",
      () => {
        const due = [...watching];
        watching.clear();
        for (const run of due) {
          try {
            run();
          } catch (err) {
            queueMicrotask(() => {
              throw err; // reported as an uncaught error, as a throwing listener's would be
            });
          }
        }
      },
      { once: true },
    );
    watchers.set(signal, callbacks);
  }
  callbacks.add(callback);
}

/** Takes back a callback given to watchAbort; nothing happens if it ran or was never given. */
export function unwatchAbort(signal: AbortSignal, callback: () => void): void {
  watchers.get(signal)?.delete(callback);
}

/** How many callbacks wait for `signal` to abort (a test's view: calls that ended must have taken theirs back). */
export function abortWatchers(signal: AbortSignal): number {
  return watchers.get(signal)?.size ?? 0;
}
