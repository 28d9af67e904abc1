// Finds the Redis that .ci/run starts (127.0.0.1:6399, or VERDICT_TEST_REDIS_URL) for tests of the shared cache.
import { Redis } from "ioredis";

export const TEST_REDIS_URL = process.env.VERDICT_TEST_REDIS_URL ?? "redis://127.0.0.1:6399";

/** True when CI runs the tests: a missing Redis is then a failure, not a skip. */
export const IN_CI = process.env.CI !== undefined && process.env.CI !== "" && process.env.CI !== "false";

/** A client that gives up fast, or null when nothing answers PING at the URL. */
export async function connectTestRedis(url = TEST_REDIS_URL): Promise<Redis | null> {
  const client = new Redis(url, { lazyConnect: true, connectTimeout: 1_000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on("error", () => undefined);
  try {
    await client.connect();
    await client.ping();
    return client;
  } catch {
    client.disconnect();
    return null;
  }
}

export const REDIS_MISSING =
  `no Redis answers at ${TEST_REDIS_URL}: the shared-cache tests need one. .ci/run starts Debian's redis-server there ` +
  `(apt-get install -y redis-server; redis-server --port 6399 --bind 127.0.0.1 --daemonize yes). Skipped outside CI, failed in CI.`;
