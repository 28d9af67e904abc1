// Two verdict processes sharing one Redis: what one judged, the other reuses without asking the judge again.
import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startProxy, type RunningProxy } from "../../src/adapters/node";
import { silentLogger } from "../../src/app";
import { loadConfig } from "../../src/config";
import { connectTestRedis, IN_CI, REDIS_MISSING, TEST_REDIS_URL } from "../redis";
import { startSimulator, type RunningSimulator } from "../sim/start";

const redis = await connectTestRedis();
if (!redis && !IN_CI) console.warn(`SKIPPED redis-replicas.test.ts: ${REDIS_MISSING}`);

interface Answer {
  choices: { message: { content: string } }[];
  verdict: { judge: { calls: number; cache_hits: number } };
}

describe.skipIf(!redis && !IN_CI)("Node replicas sharing judgments through Redis", () => {
  const prefix = `verdict:test:${randomUUID()}:`;
  const ttlMs = 60_000;
  let sim: RunningSimulator;
  let a: RunningProxy;
  let b: RunningProxy;
  let client: Redis;

  beforeAll(async () => {
    if (!redis) return; // CI: the first test fails with the reason, the others fail for want of instances
    client = redis;
    sim = await startSimulator();
    const config = loadConfig(
      {},
      JSON.stringify({
        server: { port: 0 },
        generator: { base_url: sim.url, max_retries: 0 },
        judge: { model: "sim-judge", max_retries: 0 },
        cache: { backend: "redis", redis_url: TEST_REDIS_URL, redis_prefix: prefix, ttl_ms: ttlMs },
      }),
    );
    [a, b] = await Promise.all([startProxy(config, silentLogger), startProxy(config, silentLogger)]);
  });

  afterAll(async () => {
    await Promise.all([a?.close(), b?.close(), sim?.close()]);
    if (client) {
      const keys = await client.keys(`${prefix}*`);
      if (keys.length > 0) await client.del(...keys);
      client.disconnect();
    }
  });

  async function ask(proxy: RunningProxy, prompt: string): Promise<Answer> {
    const response = await fetch(`${proxy.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      // A fixed seed makes the generator repeat its candidates, so the second instance faces the same pairs.
      body: JSON.stringify({ model: "sim-generator", seed: 11, messages: [{ role: "user", content: prompt }], verdict: { n: 4 } }),
    });
    expect(response.status).toBe(200);
    return (await response.json()) as Answer;
  }

  it("has a Redis to share", () => {
    expect(redis, REDIS_MISSING).not.toBeNull();
  });

  it("logs why Redis refuses a connection (a wrong password), once, without the password", async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = { ...silentLogger, warn: (event: Record<string, unknown>) => void lines.push(event) };
    const url = new URL(TEST_REDIS_URL);
    url.username = "nobody";
    url.password = "wrong-password-123";
    const config = loadConfig({}, JSON.stringify({ server: { port: 0 }, generator: { base_url: sim.url }, judge: { model: "sim-judge" }, cache: { backend: "redis", redis_url: url.toString() } }));
    const refused = await startProxy(config, logger);
    try {
      await new Promise((resolve) => setTimeout(resolve, 1_500)); // a reconnect or two
      const reasons = lines.filter((line) => line.event === "redis_connection_error");
      expect(reasons).toHaveLength(1);
      expect(String(reasons[0]!.error)).toMatch(/WRONGPASS|NOAUTH|invalid username-password/);
      expect(JSON.stringify(lines)).not.toContain("wrong-password-123");
    } finally {
      await refused.close();
    }
  });

  it("does not share through database 0 when the URL names a database Redis does not have", async () => {
    const url = new URL(TEST_REDIS_URL);
    url.pathname = "/99";
    const wrongPrefix = `verdict:test:${randomUUID()}:`;
    const config = loadConfig({}, JSON.stringify({ server: { port: 0 }, generator: { base_url: sim.url }, judge: { model: "sim-judge" }, cache: { backend: "redis", redis_url: url.toString(), redis_prefix: wrongPrefix } }));
    const wrong = await startProxy(config, silentLogger);
    try {
      expect((await ask(wrong, `Which database? ${randomUUID()}`)).verdict.judge.calls).toBeGreaterThan(0);
      expect(await client.keys(`${wrongPrefix}*`)).toEqual([]);
    } finally {
      await wrong.close();
    }
  });

  it("takes a key holding another type for a miss, and keeps sharing every other key", async () => {
    const prompt = `Which type? ${randomUUID()}`;
    await ask(a, prompt);
    const keys = await client.keys(`${prefix}*`);
    // Every judgment of that request becomes a hash: B cannot read them, and must still write its own elsewhere.
    for (const key of keys) await client.del(key).then(() => client.hset(key, "x", "1"));
    const other = `Another question? ${randomUUID()}`;
    expect((await ask(b, prompt)).verdict.judge.calls).toBeGreaterThan(0);
    const judgedByB = await ask(b, other);
    expect((await ask(a, other)).verdict.judge.cache_hits).toBe(judgedByB.verdict.judge.calls);
  });

  it("answers a request on B that A already judged with 0 judge calls", async () => {
    expect(a.cache).toMatch(/^memory \+ redis at redis:\/\/127\.0\.0\.1:\d+/);
    const prompt = `Why do replicas share judgments? ${randomUUID()}`;
    const first = await ask(a, prompt);
    expect(first.verdict.judge.calls).toBeGreaterThan(0);
    const judgeCallsAfterA = sim.sim.count("judge");

    const second = await ask(b, prompt);
    expect(second.verdict.judge.calls).toBe(0);
    expect(second.verdict.judge.cache_hits).toBe(first.verdict.judge.calls);
    expect(second.choices[0]!.message.content).toBe(first.choices[0]!.message.content);
    expect(sim.sim.count("judge")).toBe(judgeCallsAfterA);
  });

  it("stores judgments under the prefix with the cache TTL", async () => {
    const keys = await client.keys(`${prefix}*`);
    expect(keys.length).toBeGreaterThan(0);
    const ttl = await client.pttl(keys[0]!);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(ttlMs);
  });
});
