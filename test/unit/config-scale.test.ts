// Config for running at scale: the Redis cache backend and the per-request bound on upstream calls.
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../src/config";

const minimal = { generator: { base_url: "http://127.0.0.1:9/v1" }, judge: { model: "root-judge" } };

function problemsOf(extra: Record<string, unknown>): string {
  try {
    loadConfig({}, JSON.stringify({ ...minimal, ...extra }));
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.join("\n");
    throw err;
  }
  throw new Error("expected a ConfigError");
}

describe("config for replicas and Workers", () => {
  it("keeps the memory cache and no per-request bound by default", () => {
    const config = loadConfig({}, JSON.stringify(minimal));
    expect(config.cache.backend).toBe("memory");
    expect(config.limits.max_inflight_per_request).toBeUndefined();
  });

  it("takes a Redis backend with its URL, command timeout and key prefix", () => {
    const config = loadConfig({}, JSON.stringify({ ...minimal, cache: { backend: "redis", redis_url: "redis://10.1.2.3:6379/2" } }));
    expect(config.cache).toMatchObject({ backend: "redis", redis_url: "redis://10.1.2.3:6379/2", redis_timeout_ms: 500, redis_prefix: "verdict:judgment:" });
    expect(config.cache.ttl_ms).toBe(24 * 3600 * 1000);
  });

  it("refuses a Redis command timeout that would outlast half of a request's budget", () => {
    const redis = { backend: "redis", redis_url: "redis://127.0.0.1:6379/0" };
    expect(problemsOf({ cache: { ...redis, redis_timeout_ms: 8000 }, timeouts: { request_ms: 3000 } })).toMatch(/cache\.redis_timeout_ms: 8000 ms is more than half of timeouts\.request_ms \(3000\)/);
    expect(loadConfig({}, JSON.stringify({ ...minimal, cache: { ...redis, redis_timeout_ms: 1500 }, timeouts: { request_ms: 3000 } })).cache.backend).toBe("redis");
    // Without Redis the setting waits for nothing.
    expect(loadConfig({}, JSON.stringify({ ...minimal, timeouts: { request_ms: 600 } })).timeouts.request_ms).toBe(600);
  });

  it("refuses a bound on bodies held at once below the largest body accepted, and takes one at or above it", () => {
    expect(problemsOf({ server: { body_limit_bytes: 8_000_000, max_inflight_body_bytes: 4_000_000 } })).toMatch(/server\.max_inflight_body_bytes: 4000000 is below server\.body_limit_bytes \(8000000\)/);
    expect(loadConfig({}, JSON.stringify({ ...minimal, server: { body_limit_bytes: 8_000_000, max_inflight_body_bytes: 8_000_000 } })).server.max_inflight_body_bytes).toBe(8_000_000);
    expect(loadConfig({}, JSON.stringify(minimal)).server.max_inflight_body_bytes).toBe(32 * 1024 * 1024);
  });

  it("names the missing or wrong Redis URL and unknown backends", () => {
    expect(problemsOf({ cache: { backend: "redis" } })).toMatch(/cache\.redis_url/);
    expect(problemsOf({ cache: { backend: "redis", redis_url: "http://x:6379" } })).toMatch(/cache\.redis_url/);
    expect(problemsOf({ cache: { backend: "memcached" } })).toMatch(/cache\.backend/);
    expect(problemsOf({ cache: { redis_url: "redis://x" } })).toMatch(/redis_url/);
    // A password with a lone % cannot be decoded: a config error, not a crash at startup, and the password not in it.
    const lonePercent = problemsOf({ cache: { backend: "redis", redis_url: "redis://:ab%zzSecretX@127.0.0.1:6379/0" } });
    expect(lonePercent).toMatch(/cache\.redis_url.*%25/);
    expect(lonePercent).not.toMatch(/SecretX/);
    expect(loadConfig({}, JSON.stringify({ ...minimal, cache: { backend: "redis", redis_url: "redis://:p%40ss@127.0.0.1:6379/0" } })).cache.backend).toBe("redis");
    // A database that is not a number would be selected as NaN, and the process would die once Redis answered.
    expect(problemsOf({ cache: { backend: "redis", redis_url: "redis://127.0.0.1:6379?db=abc" } })).toMatch(/cache\.redis_url.*in the path/);
    for (const path of ["/db0", "/abc", "/0/1"]) expect(problemsOf({ cache: { backend: "redis", redis_url: `redis://127.0.0.1:6379${path}` } })).toMatch(/cache\.redis_url.*database/);
    for (const path of ["", "/", "/15"]) expect(loadConfig({}, JSON.stringify({ ...minimal, cache: { backend: "redis", redis_url: `redis://127.0.0.1:6379${path}` } })).cache.backend).toBe("redis");
    // A port out of range is named as a bad URL, not thrown as a TypeError with a stack.
    expect(problemsOf({ cache: { backend: "redis", redis_url: "redis://127.0.0.1:99999/0" } })).toMatch(/cache\.redis_url/);
  });

  it("refuses a per-request bound below 1", () => {
    expect(problemsOf({ limits: { max_inflight_per_request: 0 } })).toMatch(/limits\.max_inflight_per_request/);
  });
});
