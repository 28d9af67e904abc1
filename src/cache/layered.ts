// A shared cache (Redis, Workers KV) behind the per-process memory LRU: memory answers first, the shared layer
// lets replicas reuse each other's judgments. A failing shared layer costs a log line, never a request.
import type { JudgmentCache, SharedAccess } from "./types";

export interface LayeredCacheOptions {
  /** The per-process cache, consulted first and filled from the shared layer on its hits. */
  front: JudgmentCache;
  /** The shared cache; any of its failures is contained here. */
  back: JudgmentCache;
  /** Names the shared layer in log lines ("redis", "kv"). */
  name: string;
  /** cache.ttl_ms: a judgment lives this long from when it was made, in whichever layer or replica holds it. */
  ttlMs: number;
  /**
   * false (Node): a judgment is in the shared layer before the response leaves, so a replica asked next reuses it.
   * true (Workers): writes run after the response; once the request's work has ended the adapter hands settle() to
   * ctx.waitUntil, which keeps them alive.
   */
  writeBehind: boolean;
  warn(event: Record<string, unknown>): void;
  info(event: Record<string, unknown>): void;
  /** For dropped writes: expected under load, so below info. */
  debug?(event: Record<string, unknown>): void;
  /**
   * Whether a failed write was refused for its key alone (KV allows one write per second per key), the layer being
   * fine: such a write is dropped and logged at debug, with no pause and no outage line. Unset: every failure counts.
   */
  isDroppedWrite?(err: unknown): boolean;
  /**
   * After a failure the shared layer is left alone this long, then one call tries it again. A layer that is stuck
   * rather than refusing would otherwise cost every lookup its full timeout (redis_timeout_ms) for as long as it lasts.
   */
  retryAfterMs?: number;
  /**
   * A shared op that works but takes longer than this is taken as a failure (the layer is left alone for the pause,
   * and the log says so): each lookup waits on it before the judge is asked, so a Redis slow by a second but inside its
   * timeout would add a second to every match of a tournament, and the request's budget would run out as a judge outage.
   * Unset: no op is too slow (Workers KV is slow by nature and is bounded by its own limits).
   */
  slowMs?: number;
  /**
   * How late the process runs callbacks lately (src/util/loop-lag.ts): taken off an op's time before it is judged
   * slow, since an answer that waited for a busy process to get to it says nothing of the layer.
   */
  loopLagMs?: () => number;
  now?: () => number;
}

export interface LayeredCache extends JudgmentCache {
  /** Resolves once every shared-layer write started so far has finished (successfully or not). */
  settle(): Promise<void>;
}

type Op = "get" | "set";

/**
 * What the shared layer holds: the value and when it expires (ms since the epoch). A replica that copies it into its
 * memory keeps it only as long as it has left; with the shared layer's own expiry alone, each copy would start a
 * whole TTL again, and Workers KV keeps nothing for less than 60 s.
 */
interface Shared {
  value: unknown;
  expires_at: number;
}

const isShared = (stored: unknown): stored is Shared =>
  typeof stored === "object" && stored !== null && typeof (stored as Shared).expires_at === "number" && "value" in stored;

export function createLayeredCache(options: LayeredCacheOptions): LayeredCache {
  const { front, back, name, ttlMs, writeBehind, warn, info, retryAfterMs = 5_000, slowMs = Infinity, now = Date.now } = options;
  const pending = new Set<Promise<void>>();
  // Reads and writes are down, paused and back apart: a write outage must not stop the reads, and a read that works
  // says nothing about the writes. The log speaks of the layer as a whole, once each way: unavailable when an op fails
  // with none down, recovered when the last op down works again (an outage is two lines, not one per request).
  const down = { get: false, set: false };
  const nextTry = { get: 0, set: 0 };
  // Ops are numbered as they are sent, and each kind remembers the last number sent when it went down: an op sent before
  // then that works says nothing of the layer since (several are in flight at once, and a quick one among them would
  // log the layer back the moment it was logged away). Numbers, not times: many are sent within one millisecond.
  let sent = 0;
  const downAfter = { get: 0, set: 0 };
  const failed = (op: Op, err: unknown) => {
    nextTry[op] = now() + retryAfterMs;
    // A read that failed (refused, or stuck past its timeout) leaves the writes alone for the pause too: they go over the
    // same connection, and a request must not wait out a second timeout on its write. A failed write says nothing of reads.
    if (op === "get") nextTry.set = Math.max(nextTry.set, nextTry.get);
    if (down[op]) return;
    const wasUp = !down.get && !down.set;
    down[op] = true;
    downAfter[op] = sent;
    if (wasUp) warn({ event: "cache_backend_unavailable", backend: name, op, error: messageOf(err), serving: "memory only" });
  };
  /** Whether to use the shared layer for `op` now: unless it failed lately; then one call per pause tries it. */
  const reachable = (op: Op): boolean => {
    if (now() < nextTry[op]) return false;
    if (down[op]) nextTry[op] = now() + retryAfterMs; // this call tries; the others wait for its outcome
    return true;
  };
  /** Op number `number`, sent at `began`, worked: fine, unless it took longer than slowMs where the layer is. */
  const answered = (op: Op, began: number, number: number) => {
    if (down[op] && number <= downAfter[op]) return;
    const took = now() - began;
    if (took > slowMs && took - (options.loopLagMs?.() ?? 0) > slowMs) failed(op, new Error(`answered in ${took} ms, over ${slowMs} ms`));
    else worked(op);
  };
  const worked = (op: Op) => {
    nextTry[op] = 0;
    if (!down[op]) return;
    down[op] = false;
    if (!down.get && !down.set) info({ event: "cache_backend_recovered", backend: name });
  };
  const writeFailed = (err: unknown) => {
    // The key was written within the second (two requests judged the same inputs at once): the other write holds it.
    if (options.isDroppedWrite?.(err)) options.debug?.({ event: "cache_write_dropped", backend: name, error: messageOf(err) });
    else failed("set", err);
  };

  /** An op on the shared layer, numbered and timed from when it is sent (not from its wait for a turn, `via`). */
  const onShared = <T>(op: Op, call: () => Promise<T>, via: SharedAccess | undefined): Promise<T> => {
    let began = now();
    let number = 0;
    const send = () => ((began = now()), (number = ++sent), call());
    return (via ? via(send) : send()).then((value) => (answered(op, began, number), value));
  };

  const writeBack = (key: string, value: unknown, via: SharedAccess | undefined): Promise<void> => {
    const write = onShared("set", () => back.set(key, value), via).then(() => undefined, writeFailed);
    pending.add(write);
    void write.finally(() => pending.delete(write));
    return write;
  };

  return {
    async get(key, via) {
      const local = await front.get(key);
      if (local !== undefined || !reachable("get")) return local;
      let shared: unknown;
      try {
        shared = await onShared("get", () => back.get(key), via);
      } catch (err) {
        failed("get", err);
        return undefined;
      }
      if (shared === undefined) return undefined;
      // Written before expiry stamps: kept as it came, for a whole TTL.
      if (!isShared(shared)) return front.set(key, shared).then(() => shared);
      const left = shared.expires_at - now();
      if (left <= 0) return undefined;
      await front.set(key, shared.value, Math.min(left, ttlMs));
      return shared.value;
    },
    async set(key, value, _ttlMs, via) {
      await front.set(key, value);
      if (!reachable("set")) return;
      const write = writeBack(key, { value, expires_at: now() + ttlMs } satisfies Shared, via);
      if (!writeBehind) await write;
    },
    async settle() {
      await Promise.all([...pending]);
    },
  };
}

function messageOf(err: unknown): string {
  return String((err as Error)?.message ?? err);
}
