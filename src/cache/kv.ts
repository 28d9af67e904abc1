// Judgment cache on Workers KV: shared by every isolate and location, eventually consistent, with a TTL.
import type { JudgmentCache } from "./types";

/** The part of a KV namespace binding this cache uses (typed here so src/ needs no Workers types). */
export interface KvNamespaceLike {
  get(key: string, type: "text"): Promise<string | null>;
  put(key: string, value: string, options?: { expirationTtl?: number }): Promise<void>;
}

export interface KvCacheOptions {
  ttl_ms: number;
  prefix?: string;
}

/** KV refuses expirations shorter than a minute. */
const KV_MIN_TTL_SECONDS = 60;

export function createKvCache(kv: KvNamespaceLike, { ttl_ms, prefix = "judgment:" }: KvCacheOptions): JudgmentCache {
  const expirationTtl = Math.max(KV_MIN_TTL_SECONDS, Math.ceil(ttl_ms / 1000));
  return {
    async get(key) {
      const text = await kv.get(prefix + key, "text");
      return text === null ? undefined : JSON.parse(text);
    },
    async set(key, value) {
      await kv.put(prefix + key, JSON.stringify(value), { expirationTtl });
    },
  };
}
