// How late this process's event loop runs its callbacks lately: a timer that should fire every `everyMs`, and how far
// behind it fired. An answer that arrived on time but waited that long for its turn was not slow where it came from.

/** The larger of the last two delays seen, in ms; stop() ends the sampling. The timer keeps no process alive. */
export function sampleLoopLag(everyMs = 50, now: () => number = Date.now): { lagMs(): number; stop(): void } {
  let last = now();
  let previous = 0;
  let latest = 0;
  const timer = setInterval(() => {
    const at = now();
    previous = latest;
    latest = Math.max(0, at - last - everyMs);
    last = at;
  }, everyMs);
  (timer as { unref?: () => void }).unref?.();
  // Until the next tick, a loop that is stuck right now shows as the time since the last one.
  return { lagMs: () => Math.max(previous, latest, now() - last - everyMs), stop: () => clearInterval(timer) };
}
