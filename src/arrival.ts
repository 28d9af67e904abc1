// When a request's first byte came, for requests whose work began later: the Node lane (src/adapters/node-chat-lane.ts)
// reads a chat completion's body before its work begins, and hands the app a request whose proxy key it refused after
// checking it. Their time budget and logged duration must count from that first byte, as they do for requests the app
// reads itself; otherwise a slow upload or key check would go unaccounted.
import type { Context } from "hono";

const arrivals = new WeakMap<object, number>();

/** Records when `incoming` (the Node request handed to the app) started to arrive, on the observation clock (epoch ms). */
export function markArrival(incoming: object, at: number): void {
  arrivals.set(incoming, at);
}

/**
 * A first byte's time on the observation clock (`clockNow` is that clock's reading now), as wall-clock time for a time
 * budget: the time since is taken on the one clock, since it and Date.now() drift apart when the wall clock is stepped.
 */
export function wallClockArrival(arrivedOnClock: number, clockNow: number): number {
  return Date.now() - (clockNow - arrivedOnClock);
}

/** The recorded arrival of the request `c` serves, if its body was read before the app got it. */
export function arrivalOf(c: Context): number | undefined {
  // @hono/node-server puts the Node request in the context's env; on Workers env holds the bindings, and nothing is recorded.
  const incoming = (c.env as { incoming?: unknown } | undefined)?.incoming;
  return typeof incoming === "object" && incoming !== null ? arrivals.get(incoming) : undefined;
}
