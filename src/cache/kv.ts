// Judgment cache on Workers KV: shared by every isolate and location, eventually consistent, with a TTL.
import { storedValue, type JudgmentCache } from "./types";

/** The part of a KV namespace binding this cache uses (typed here so src/ needs no Workers types). */
export interface KvNamespaceLike {
  get(key: string, type: "text"): Promise<string | null>;
  put(key: string, value: string, options?: { expirationTtl?: number }): Promise<void>;
}

export interface KvCacheOptions {
  ttl_ms: number;
  /** A read or write that takes longer fails: the layered cache then serves from memory alone for a while. */
  timeout_ms: number;
  prefix?: string;
}

/** KV refuses expirations shorter than a minute. */
const KV_MIN_TTL_SECONDS = 60;

/**
 * KV's refusal of a second write to one key within a second: the put rejects with "KV PUT failed: 429 Too Many
 * Requests". Keys are hashes of the judged inputs, so the write that got in holds a judgment of the same inputs: nothing
 * is lost and the namespace is fine. An account past its daily quota is refused with its own message (code 10048,
 * "reached the free usage limit"), which stays an outage.
 */
export function isKvKeyRateLimit(err: unknown): boolean {
  const message = String((err as Error)?.message ?? err);
  return /\b429 Too Many Requests\b/.test(message) && !/usage limit|10048/.test(message);
}

export function createKvCache(kv: KvNamespaceLike, { ttl_ms, timeout_ms, prefix = "judgment:" }: KvCacheOptions): JudgmentCache {
  const expirationTtl = Math.max(KV_MIN_TTL_SECONDS, Math.ceil(ttl_ms / 1000));
  return {
    async get(key) {
      const text = await within(kv.get(prefix + key, "text"), timeout_ms, "read");
      return storedValue(text);
    },
    async set(key, value) {
      await within(kv.put(prefix + key, JSON.stringify(value), { expirationTtl }), timeout_ms, "write");
    },
  };
}

/**
 * `op`, or a failure once `ms` have passed. A stuck KV must not hold a judgment until the request's budget runs out
 * (and be blamed on the judge): failing here lets the layered cache pause KV and log it.
 */
function within<T>(op: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`KV ${what} took longer than ${ms} ms`)), ms);
  });
  return Promise.race([op, late]).finally(() => timer !== undefined && clearTimeout(timer));
}
