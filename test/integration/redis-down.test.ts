// A Redis that refuses connections or never answers: verdict keeps serving from memory and says so once.
import { createServer, type Server, type Socket } from "node:net";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startProxy } from "../../src/adapters/node";
import type { Logger } from "../../src/app";
import { loadConfig } from "../../src/config";
import { startSimulator, type RunningSimulator } from "../sim/start";

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)));
}

function recordingLogger() {
  const lines: { level: string; event: Record<string, unknown> }[] = [];
  const logger: Logger = {
    info: (event) => lines.push({ level: "info", event }),
    warn: (event) => lines.push({ level: "warn", event }),
    error: (event) => lines.push({ level: "error", event }),
  };
  return { logger, lines };
}

describe("Redis unavailable", () => {
  let sim: RunningSimulator;
  let refusedPort: number;
  let silentPort: number;
  const sockets: Socket[] = [];
  // Accepts connections and never answers a command, like a Redis that hangs.
  const silent = createServer((socket) => void sockets.push(socket));

  beforeAll(async () => {
    sim = await startSimulator();
    const probe = createServer();
    refusedPort = await listen(probe);
    await new Promise((done) => probe.close(done));
    silentPort = await listen(silent);
  });

  afterAll(async () => {
    sockets.forEach((s) => s.destroy());
    await new Promise((done) => silent.close(done));
    await sim.close();
  });

  for (const [name, port] of [
    ["refusing connections", () => refusedPort],
    ["accepting but never answering", () => silentPort],
  ] as const) {
    it(`keeps answering from memory when Redis is ${name}, and logs the outage once`, async () => {
      const { logger, lines } = recordingLogger();
      const config = loadConfig(
        {},
        JSON.stringify({
          server: { port: 0 },
          generator: { base_url: sim.url, max_retries: 0 },
          judge: { model: "sim-judge", max_retries: 0 },
          cache: { backend: "redis", redis_url: `redis://127.0.0.1:${port()}`, redis_timeout_ms: 100 },
        }),
      );
      const started = Date.now();
      const proxy = await startProxy(config, logger);
      expect(Date.now() - started).toBeLessThan(3_000);
      try {
        const judged: { calls: number; cache_hits: number }[] = [];
        for (const topic of ["tides", "bridges", "tides"]) {
          const response = await fetch(`${proxy.url}/v1/chat/completions`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ model: "m", seed: 3, messages: [{ role: "user", content: `Explain ${topic}.` }], verdict: { n: 3 } }),
          });
          expect(response.status).toBe(200);
          judged.push(((await response.json()) as { verdict: { judge: { calls: number; cache_hits: number } } }).verdict.judge);
        }
        expect(judged[0]!.calls).toBeGreaterThan(0);
        // The repeated question is answered from the memory layer.
        expect(judged[2]).toMatchObject({ calls: 0, cache_hits: judged[0]!.calls });
        const outages = lines.filter((l) => l.event.event === "cache_backend_unavailable");
        expect(outages).toHaveLength(1);
        expect(outages[0]).toMatchObject({ level: "warn", event: { backend: "redis", serving: "memory only" } });
      } finally {
        await proxy.close();
      }
    });
  }
});
