// In-process judgment cache on lru-cache, bounded by entries and bytes, with a TTL.
import { LRUCache } from "lru-cache";
import type { JudgmentCache } from "./types";

export interface MemoryCacheOptions {
  max_entries: number;
  max_bytes: number;
  ttl_ms: number;
}

export function createMemoryCache(options: MemoryCacheOptions): JudgmentCache & { readonly size: number } {
  // Values are stored as JSON text: their size is known, and callers can never share a mutable object.
  const lru = new LRUCache<string, string>({
    max: options.max_entries,
    maxSize: options.max_bytes,
    sizeCalculation: (value, key) => value.length + key.length,
    ttl: options.ttl_ms,
    // Read the clock on every check: the cached reading is reset by a timer, which Workers cancel with the request.
    ttlResolution: 0,
  });
  return {
    get size() {
      return lru.size;
    },
    async get(key) {
      const text = lru.get(key);
      return text === undefined ? undefined : JSON.parse(text);
    },
    async set(key, value) {
      lru.set(key, JSON.stringify(value));
    },
  };
}
