// Judgment cache on Redis, shared by Node replicas: JSON text under a prefix, expiring after the cache TTL.
import { storedValue, type JudgmentCache } from "./types";

/** The two commands this cache sends (ioredis' signatures), so tests and other clients can stand in. */
export interface RedisCommands {
  get(key: string): Promise<string | null>;
  set(key: string, value: string, px: "PX", ttlMs: number): Promise<unknown>;
}

export interface RedisCacheOptions {
  ttl_ms: number;
  prefix: string;
}

export function createRedisCache(redis: RedisCommands, { ttl_ms, prefix }: RedisCacheOptions): JudgmentCache {
  return {
    async get(key) {
      let text: string | null;
      try {
        text = await redis.get(prefix + key);
      } catch (err) {
        // Something else's value under this key (a hash, a list): a miss, as foreign text is, not an outage that
        // would leave Redis alone for every key. The judgment made next overwrites it (SET takes any type's place).
        if (err instanceof Error && err.message.startsWith("WRONGTYPE")) return undefined;
        throw err;
      }
      return storedValue(text);
    },
    async set(key, value) {
      await redis.set(prefix + key, JSON.stringify(value), "PX", ttl_ms);
    },
  };
}
