// The judgment cache interface: settled JSON values by key. Backends: memory (default), Redis, Workers KV.

/**
 * How one request runs its calls to a shared layer (KV, Redis): within its bound on connections in flight, which on
 * Workers counts KV reads and writes with its upstream calls. The memory layer never waits for it.
 */
export type SharedAccess = <T>(op: () => Promise<T>) => Promise<T>;

export interface JudgmentCache {
  get(key: string, via?: SharedAccess): Promise<unknown>;
  /** `ttlMs`: how long this entry may live, when less than the cache's own TTL (a copy of a shared entry). */
  set(key: string, value: unknown, ttlMs?: number, via?: SharedAccess): Promise<void>;
}

/**
 * The longest stored text read as a judgment. One is a few KB (its reasoning is bounded, src/judge/stored.ts); a value
 * of megabytes under verdict's key was written by something else, and would be parsed and copied into memory.
 */
const MAX_STORED_CHARS = 64 * 1024;

/**
 * A stored text as a value; undefined for none, and for text verdict did not write (not JSON, or far too long:
 * another writer under the same prefix): that is a miss, not a failing backend that would be left alone for a while.
 */
export function storedValue(text: string | null | undefined): unknown {
  if (text === null || text === undefined || text.length > MAX_STORED_CHARS) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** A cache that never hits: used when caching is off. */
export const noCache: JudgmentCache = {
  get: async () => undefined,
  set: async () => undefined,
};
