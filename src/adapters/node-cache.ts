// The Node judgment cache from config: the memory LRU alone, or Redis (ioredis) shared by replicas behind it.
//
// ioredis is loaded only when Redis is configured: loading it took 15 MiB of the idle proxy's RSS (23 MiB in a bare
// Node process), memory a deployment on the memory cache never uses, out of the 200 MB a loaded proxy should stay under.
import type { Redis } from "ioredis";
import type { Logger } from "../app";
import type { Config } from "../config";
import { createLayeredCache } from "../cache/layered";
import { sampleLoopLag } from "../util/loop-lag";
import { createMemoryCache } from "../cache/memory";
import { createRedisCache, type RedisCommands } from "../cache/redis";
import type { JudgmentCache } from "../cache/types";
import { createRedactor } from "../redact";

export interface NodeCache {
  cache: JudgmentCache;
  /** Where judgments live, for the startup line (no credentials). */
  description: string;
  /** Resolves when Redis is connected, or has failed to connect once: serving never waits longer for it. */
  ready: Promise<void>;
  close(): Promise<void>;
}

/** host:port/db of a Redis URL, without user or password. */
function redisAddress(url: string): string {
  const parsed = new URL(url);
  return `${parsed.protocol}//${parsed.host}${parsed.pathname === "/" ? "" : parsed.pathname}`;
}

export function createNodeCache(config: Config, logger: Logger): NodeCache {
  const memory = createMemoryCache(config.cache);
  const settings = config.cache;
  if (settings.backend === "memory") return { cache: memory, description: "memory", ready: Promise.resolve(), close: async () => undefined };

  const password = new URL(settings.redis_url).password;
  const redactPassword = createRedactor(password ? [password, decodeURIComponent(password)] : []);
  // A database Redis does not have: ioredis logs the failed SELECT and carries on in database 0, where judgments would
  // mix with whatever else is there. Every command fails instead, so the memory cache serves alone (and says so).
  let wrongDatabase: Error | undefined;
  const database = Number(new URL(settings.redis_url).pathname.slice(1) || 0);
  const connecting = import("ioredis").then(({ Redis }) => {
    const redis = new Redis(settings.redis_url, {
      // A command while disconnected fails at once (memory takes over) instead of queueing behind a reconnect.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: settings.redis_timeout_ms,
      connectTimeout: Math.max(1_000, settings.redis_timeout_ms),
      // Keeps reconnecting in the background, at most every 5 s, so a Redis that comes back is used again.
      retryStrategy: (attempt) => Math.min(attempt * 200, 5_000),
    });
    // ioredis reports every failed reconnect as an 'error' event: each different reason is logged once (a refused
    // password or a wrong database is what to fix; the layered cache's own line only says that commands failed).
    let lastReason: string | undefined;
    redis.on("error", (err: Error) => {
      const reason = redactPassword(String(err?.message ?? err));
      if (/\bDB index\b/i.test(reason)) wrongDatabase = new Error(reason);
      if (reason === lastReason) return;
      lastReason = reason;
      logger.warn({ event: "redis_connection_error", backend: "redis", error: reason });
    });
    // A database that was missing may be there once Redis restarts with more of them: on each reconnect it is asked
    // for again, and used from when it answers.
    redis.on("ready", () => {
      lastReason = undefined;
      if (wrongDatabase) redis.select(database).then(() => (wrongDatabase = undefined), () => undefined);
    });
    return redis;
  });
  // Commands before the connection is up would fail over to memory, so the first requests would not share.
  const ready = connecting.then(
    (redis) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(1_000, settings.redis_timeout_ms));
        const done = () => (clearTimeout(timer), resolve());
        redis.once("ready", done);
        redis.once("error", done);
      }),
  );
  // The client is there once `ready` has resolved, which the proxy waits for before it listens.
  const commands: RedisCommands = {
    get: (key) => connecting.then((redis: Redis) => (wrongDatabase ? Promise.reject(wrongDatabase) : redis.get(key))),
    set: (key, value, px, ttlMs) => connecting.then((redis: Redis) => (wrongDatabase ? Promise.reject(wrongDatabase) : redis.set(key, value, px, ttlMs))),
  };
  const lag = sampleLoopLag();
  const cache = createLayeredCache({
    front: memory,
    back: createRedisCache(commands, { ttl_ms: settings.ttl_ms, prefix: settings.redis_prefix }),
    name: "redis",
    ttlMs: settings.ttl_ms,
    writeBehind: false,
    // A judgment cache round trip is a millisecond or two; one of 100 ms (or a fifth of the timeout) is a sick Redis.
    slowMs: Math.max(100, settings.redis_timeout_ms / 5),
    loopLagMs: lag.lagMs,
    warn: (event) => logger.warn(event),
    info: (event) => logger.info(event),
  });
  return {
    cache,
    description: `memory + redis at ${redisAddress(settings.redis_url)}`,
    ready,
    close: async () => {
      lag.stop();
      await cache.settle();
      (await connecting).disconnect();
    },
  };
}
