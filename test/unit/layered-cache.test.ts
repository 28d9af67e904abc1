// The layered judgment cache: memory first, the shared layer behind it, a failing shared layer contained (reads and
// writes apart), and a KV write refused for its key alone dropped rather than taken for an outage.
import { describe, expect, it } from "vitest";
import { createKvCache, isKvKeyRateLimit } from "../../src/cache/kv";
import { createLayeredCache } from "../../src/cache/layered";
import { createMemoryCache, utf8Length } from "../../src/cache/memory";
import { createRedisCache } from "../../src/cache/redis";
import type { JudgmentCache } from "../../src/cache/types";

const memoryOptions = { max_entries: 100, max_bytes: 1 << 20, ttl_ms: 60_000 };

/** A shared layer in a Map that can be switched off, and holds writes until released when asked to. */
function fakeShared() {
  const data = new Map<string, string>();
  const state = { down: false, hold: false, released: [] as (() => void)[], gets: 0 };
  const cache: JudgmentCache = {
    async get(key) {
      state.gets += 1;
      if (state.down) throw new Error("connection refused");
      const text = data.get(key);
      return text === undefined ? undefined : JSON.parse(text);
    },
    async set(key, value) {
      if (state.hold) await new Promise<void>((release) => state.released.push(release));
      if (state.down) throw new Error("connection refused");
      data.set(key, JSON.stringify(value));
    },
  };
  return { cache, data, state };
}

/** What the shared layer holds under `key`, without its expiry stamp. */
const sharedValue = (shared: ReturnType<typeof fakeShared>, key: string) => JSON.parse(shared.data.get(key) ?? "null")?.value;

function layered(writeBehind = false) {
  const shared = fakeShared();
  const logs: { level: string; event: Record<string, unknown> }[] = [];
  const clock = { ms: 0 };
  const cache = createLayeredCache({
    front: createMemoryCache(memoryOptions),
    back: shared.cache,
    name: "fake",
    ttlMs: memoryOptions.ttl_ms,
    writeBehind,
    warn: (event) => logs.push({ level: "warn", event }),
    info: (event) => logs.push({ level: "info", event }),
    debug: (event) => logs.push({ level: "debug", event }),
    isDroppedWrite: isKvKeyRateLimit,
    retryAfterMs: 5_000,
    now: () => clock.ms,
  });
  return { cache, shared, logs, clock };
}

describe("layered judgment cache", () => {
  it("writes through to the shared layer and answers from memory first", async () => {
    const { cache, shared } = layered();
    await cache.set("k", { value: 1 });
    expect(sharedValue(shared, "k")).toEqual({ value: 1 });
    expect(await cache.get("k")).toEqual({ value: 1 });
    expect(shared.state.gets).toBe(0);
  });

  it("fills memory from a shared hit, so the next read stays local", async () => {
    const { cache, shared } = layered();
    shared.data.set("k", '{"value":2}');
    expect(await cache.get("k")).toEqual({ value: 2 });
    expect(await cache.get("k")).toEqual({ value: 2 });
    expect(shared.state.gets).toBe(1);
    expect(await cache.get("missing")).toBeUndefined();
  });

  it("serves from memory while the shared layer fails, logging the outage once and the recovery once", async () => {
    const { cache, shared, logs, clock } = layered();
    shared.state.down = true;
    for (let i = 0; i < 5; i++) {
      await cache.set(`k${i}`, { value: i });
      expect(await cache.get(`k${i}`)).toEqual({ value: i });
      expect(await cache.get(`other${i}`)).toBeUndefined();
    }
    expect(logs).toEqual([
      { level: "warn", event: expect.objectContaining({ event: "cache_backend_unavailable", backend: "fake", op: "set", serving: "memory only" }) },
    ]);
    shared.state.down = false;
    clock.ms += 5_000; // the pause after the last failure is over
    await cache.set("after", { value: "ok" });
    expect(logs).toHaveLength(1); // the reads have not been seen to work yet
    await cache.get("nowhere");
    expect(logs.map((l) => l.event.event)).toEqual(["cache_backend_unavailable", "cache_backend_recovered"]);
    expect(sharedValue(shared, "after")).toEqual({ value: "ok" });
  });

  it("does not call the layer recovered when a read works while the writes are still failing", async () => {
    const { cache, shared, logs, clock } = layered();
    const set = shared.cache.set.bind(shared.cache);
    shared.cache.set = async () => {
      throw new Error("KV PUT failed: 500 Internal Server Error");
    };
    await cache.set("k", { value: 1 });
    shared.data.set("there", '{"value":"shared"}');
    expect(await cache.get("there")).toEqual({ value: "shared" });
    expect(logs.map((l) => [l.event.event, l.event.op])).toEqual([["cache_backend_unavailable", "set"]]);
    clock.ms += 5_000;
    shared.cache.set = set;
    await cache.set("k2", { value: 2 });
    expect(logs.map((l) => l.event.event)).toEqual(["cache_backend_unavailable", "cache_backend_recovered"]);
  });

  it("after a failed read leaves the writes alone for the pause too, so a request does not wait out a second timeout", async () => {
    const { cache, shared, clock } = layered();
    let writes = 0;
    const set = shared.cache.set.bind(shared.cache);
    shared.cache.set = async (key, value) => ((writes += 1), set(key, value));
    shared.state.down = true;
    expect(await cache.get("k")).toBeUndefined(); // the read fails: the layer is paused
    await cache.set("k", { value: 1 }); // the judgment made meanwhile: memory only
    expect(writes).toBe(0);
    expect(await cache.get("k")).toEqual({ value: 1 });
    shared.state.down = false;
    clock.ms += 5_000;
    await cache.set("k2", { value: 2 });
    expect(writes).toBe(1);
    expect(sharedValue(shared, "k2")).toEqual({ value: 2 });
  });

  it("drops a write KV refused for its key alone (1 write/s per key), and keeps writing the other keys", async () => {
    const { cache, shared, logs } = layered();
    const set = shared.cache.set.bind(shared.cache);
    shared.cache.set = async (key, value) => {
      if (key === "hot") throw new Error("KV PUT failed: 429 Too Many Requests");
      await set(key, value);
    };
    await cache.set("hot", { value: 1 });
    expect(await cache.get("hot")).toEqual({ value: 1 }); // memory still has it
    await cache.set("cold", { value: 2 });
    expect(sharedValue(shared, "cold")).toEqual({ value: 2 });
    expect(logs).toEqual([{ level: "debug", event: expect.objectContaining({ event: "cache_write_dropped", backend: "fake" }) }]);
  });

  it("counts KV's daily quota (code 10048) as an outage, not as one key's rate limit", () => {
    expect(isKvKeyRateLimit(new Error("KV PUT failed: 429 Too Many Requests"))).toBe(true);
    expect(isKvKeyRateLimit(new Error("KV PUT failed: 429: your account has reached the free usage limit for this operation for today [code: 10048]"))).toBe(false);
    expect(isKvKeyRateLimit(new Error("KV PUT failed: 500 Internal Server Error"))).toBe(false);
  });

  it("leaves a failing shared layer alone for a pause, then lets one call try it again", async () => {
    const { cache, shared, clock } = layered();
    shared.state.down = true;
    expect(await cache.get("a")).toBeUndefined();
    expect(shared.state.gets).toBe(1);
    // Within the pause: memory only, no call waits on the shared layer (a stuck Redis would cost each its timeout).
    for (let i = 0; i < 10; i++) {
      await cache.set(`k${i}`, { value: i });
      expect(await cache.get(`b${i}`)).toBeUndefined();
    }
    expect(shared.state.gets).toBe(1);
    expect(shared.data.size).toBe(0);
    clock.ms += 5_000;
    shared.state.down = false;
    shared.data.set("c", '{"value":"shared"}');
    expect(await cache.get("c")).toEqual({ value: "shared" });
    expect(shared.state.gets).toBe(2);
    await cache.set("d", { value: 4 });
    expect(sharedValue(shared, "d")).toEqual({ value: 4 });
  });

  it("keeps reading from the shared layer when only a write failed", async () => {
    const { cache, shared } = layered();
    shared.data.set("there", '{"value":"shared"}');
    const set = shared.cache.set.bind(shared.cache);
    shared.cache.set = async () => {
      throw new Error("KV PUT failed: 503 Service Unavailable");
    };
    await cache.set("k", { value: 1 });
    shared.cache.set = set;
    expect(await cache.get("there")).toEqual({ value: "shared" });
    expect(shared.state.gets).toBe(1);
  });

  it("write-behind returns before the shared write, and settle() waits for it", async () => {
    const { cache, shared } = layered(true);
    shared.state.hold = true;
    await cache.set("k", { value: 3 });
    expect(shared.data.has("k")).toBe(false);
    let settled = false;
    const settling = cache.settle().then(() => (settled = true));
    await Promise.resolve();
    expect(settled).toBe(false);
    shared.state.released.forEach((release) => release());
    await settling;
    expect(sharedValue(shared, "k")).toEqual({ value: 3 });
  });
});

describe("a stuck Workers KV", () => {
  it("costs a read or write at most kv_timeout_ms, then memory answers alone and the outage is logged once", async () => {
    const never = () => new Promise<never>(() => undefined);
    const stuck = createKvCache({ get: never, put: never }, { ttl_ms: 60_000, timeout_ms: 40 });
    const logs: Record<string, unknown>[] = [];
    const cache = createLayeredCache({
      front: createMemoryCache(memoryOptions),
      back: stuck,
      name: "kv",
      ttlMs: 60_000,
      writeBehind: true,
      warn: (event) => logs.push(event),
      info: (event) => logs.push(event),
    });
    const started = performance.now();
    expect(await cache.get("k")).toBeUndefined();
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(logs).toEqual([expect.objectContaining({ event: "cache_backend_unavailable", backend: "kv", op: "get", error: "KV read took longer than 40 ms" })]);
    // Paused now: the next lookups do not wait on it at all.
    const again = performance.now();
    expect(await cache.get("k2")).toBeUndefined();
    expect(performance.now() - again).toBeLessThan(20);
    await cache.set("k", { v: 1 });
    await cache.settle(); // the write behind gives up too, so waitUntil is not held by it
    expect(await cache.get("k")).toEqual({ v: 1 });
  });
});

describe("a slow Redis (answering, but inside its timeout)", () => {
  it("is left alone once an answer took longer than slowMs, so lookups stop waiting on it, and the log says why", async () => {
    const clock = { ms: 0 };
    const data = new Map<string, unknown>();
    let gets = 0;
    // Every op answers, 300 ms late by the clock.
    const slow: JudgmentCache = {
      get: async (key) => ((gets += 1), (clock.ms += 300), data.get(key)),
      set: async (key, value) => void ((clock.ms += 300), data.set(key, value)),
    };
    const logs: Record<string, unknown>[] = [];
    const cache = createLayeredCache({
      front: createMemoryCache(memoryOptions),
      back: slow,
      name: "redis",
      ttlMs: 60_000,
      writeBehind: false,
      slowMs: 100,
      retryAfterMs: 5_000,
      warn: (event) => logs.push(event),
      info: (event) => logs.push(event),
      now: () => clock.ms,
    });
    expect(await cache.get("a")).toBeUndefined();
    expect(logs).toEqual([expect.objectContaining({ event: "cache_backend_unavailable", op: "get", error: "answered in 300 ms, over 100 ms" })]);
    expect(await cache.get("b")).toBeUndefined();
    await cache.set("c", { v: 1 }); // memory only: no write waits on it either
    expect([gets, data.size]).toEqual([1, 0]);
    // After the pause one lookup tries it again; answering in time, it is used again.
    clock.ms += 5_000;
    slow.get = async (key) => ((gets += 1), data.get(key));
    expect(await cache.get("d")).toBeUndefined();
    expect(gets).toBe(2);
    expect(logs.at(-1)).toEqual(expect.objectContaining({ event: "cache_backend_recovered" }));
  });

  it("does not blame the layer for a busy process, nor call it back on an answer to a lookup sent before it went away", async () => {
    const clock = { ms: 0 };
    let lag = 250;
    const answers: Array<() => void> = [];
    // Each lookup answers when told, and the clock says how long it took.
    const held: JudgmentCache = { get: () => new Promise((resolve) => answers.push(() => resolve(undefined))), set: async () => undefined };
    const logs: Record<string, unknown>[] = [];
    const cache = createLayeredCache({
      front: createMemoryCache(memoryOptions),
      back: held,
      name: "redis",
      ttlMs: 60_000,
      writeBehind: false,
      slowMs: 100,
      loopLagMs: () => lag,
      warn: (event) => logs.push(event),
      info: (event) => logs.push(event),
      now: () => clock.ms,
    });
    // 300 ms, of which the process itself was 250 ms late getting to its answer: not slow where the layer is.
    const busy = cache.get("a");
    await Promise.resolve();
    clock.ms += 300;
    answers.shift()!();
    await busy;
    expect(logs).toEqual([]);
    // Two lookups in flight: the first is slow by itself; the second, sent in the very millisecond before that showed,
    // answers a millisecond later.
    lag = 0;
    const first = cache.get("b");
    await Promise.resolve();
    clock.ms += 300;
    const second = cache.get("c");
    await Promise.resolve();
    answers.shift()!();
    await first;
    clock.ms += 1;
    answers.shift()!();
    await second;
    expect(logs.map((e) => e.event)).toEqual(["cache_backend_unavailable"]);
  });
});

describe("a judgment's lifetime across layers and replicas", () => {
  const replica = (back: JudgmentCache, ttlMs: number, logs: unknown[] = []) =>
    createLayeredCache({
      front: createMemoryCache({ max_entries: 10, max_bytes: 1 << 20, ttl_ms: ttlMs }),
      back,
      name: "fake",
      ttlMs,
      writeBehind: false,
      warn: (event) => logs.push(event),
      info: (event) => logs.push(event),
    });
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  it("keeps a copy from the shared layer only for the time the judgment has left, not a whole TTL again", async () => {
    const shared = fakeShared();
    const [x, y] = [replica(shared.cache, 300), replica(shared.cache, 300)];
    await x.set("k", { value: 1 });
    await sleep(180);
    expect(await y.get("k")).toEqual({ value: 1 }); // copied with about 120 ms left
    await sleep(200);
    expect(await y.get("k")).toBeUndefined(); // gone from y's memory, and the shared copy's stamp has expired too
  });

  it("still reads an entry written without an expiry stamp", async () => {
    const shared = fakeShared();
    shared.data.set("old", '{"value":7}');
    expect(await replica(shared.cache, 1_000).get("old")).toEqual({ value: 7 });
  });

  it("takes a shared value that is not JSON (another writer under the prefix) for a miss, not an outage", async () => {
    const logs: unknown[] = [];
    const redis = { get: async () => "not json {", set: async () => "OK" };
    const cache = replica(createRedisCache(redis, { ttl_ms: 1_000, prefix: "p:" }), 1_000, logs);
    expect(await cache.get("k")).toBeUndefined();
    expect(logs).toEqual([]);
  });

  it("takes a shared value of megabytes for a miss: no judgment is that long, and it is not copied into memory", async () => {
    const judgment = { value: { winner: "A", reasoning: "r", parsed: true }, expires_at: Date.now() + 60_000 };
    const padded = JSON.stringify({ ...judgment, padding: "x".repeat(1 << 20) });
    const redis = { get: async () => padded, set: async () => "OK" };
    expect(await replica(createRedisCache(redis, { ttl_ms: 60_000, prefix: "p:" }), 60_000).get("k")).toBeUndefined();
    redis.get = async () => JSON.stringify(judgment);
    expect(await replica(createRedisCache(redis, { ttl_ms: 60_000, prefix: "p:" }), 60_000).get("k")).toEqual(judgment.value);
  });
});

describe("the memory cache's byte bound", () => {
  it("counts UTF-8 bytes, as Buffer does", () => {
    for (const text of ["plain", "é", "東京", "😀 ok", `{"reasoning":"${"東".repeat(50)}"}`]) expect(utf8Length(text)).toBe(Buffer.byteLength(text));
  });

  it("keeps out a judgment larger than max_bytes in bytes, however few characters it has", async () => {
    const bounded = () => createMemoryCache({ max_entries: 10, max_bytes: 1_000, ttl_ms: 60_000 });
    const [wide, narrow] = [bounded(), bounded()];
    await wide.set("k", { reasoning: "東".repeat(600) }); // 600 characters, 1,800 bytes
    await narrow.set("k", { reasoning: "e".repeat(600) });
    expect(await wide.get("k")).toBeUndefined();
    expect(await narrow.get("k")).toBeDefined();
  });
});
