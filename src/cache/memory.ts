// In-process judgment cache on lru-cache, bounded by entries and bytes, with a TTL.
import { LRUCache } from "lru-cache";
import type { JudgmentCache } from "./types";

export interface MemoryCacheOptions {
  max_entries: number;
  max_bytes: number;
  ttl_ms: number;
}

/** The bytes `text` takes as UTF-8, without encoding it: max_bytes is in bytes, and a CJK character takes three. */
export function utf8Length(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    // A surrogate half counts 1 more (a pair is 4 bytes for its 2 units); below U+0800, 1 more; above, 2; ASCII, none.
    if (code >= 0x80) bytes += code < 0x800 ? 1 : code >= 0xd800 && code <= 0xdfff ? 1 : 2;
  }
  return bytes;
}

export function createMemoryCache(options: MemoryCacheOptions): JudgmentCache & { readonly size: number } {
  // Values are stored as JSON text: their size is known, and callers can never share a mutable object.
  const lru = new LRUCache<string, string>({
    max: options.max_entries,
    maxSize: options.max_bytes,
    sizeCalculation: (value, key) => utf8Length(value) + key.length, // keys are hex digests
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
    async set(key, value, ttlMs) {
      lru.set(key, JSON.stringify(value), ttlMs === undefined ? undefined : { ttl: ttlMs });
    },
  };
}
