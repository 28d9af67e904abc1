// Work that outlives the response on Workers, streamed or not: KV writes and the span export are handed to waitUntil
// and finish before the invocation's waitUntil work does (after it, the isolate may be frozen or evicted).
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it, inject } from "vitest";
import { createWorker, type WorkerEnv } from "../../src/adapters/worker-app";
import { silentLogger } from "../../src/app";
import type { KvNamespaceLike } from "../../src/cache/kv";

declare module "vitest" {
  export interface ProvidedContext {
    collectorUrl: string;
  }
}

const workerEnv = env as Cloudflare.Env & WorkerEnv;

function chatRequest(body: Record<string, unknown>, headers: Record<string, string> = {}): Request {
  const messages = [{ role: "user", content: `Explain ${crypto.randomUUID()} in simple words.` }];
  return new Request("http://verdict.test/v1/chat/completions", {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ model: "sim-generator", messages, ...body }),
  });
}

/** A KV namespace whose writes take 300 ms, counting those begun and those finished. */
function slowKv() {
  const puts = { started: 0, finished: 0 };
  const kv: KvNamespaceLike = {
    get: async () => null,
    put: async () => {
      puts.started += 1;
      await new Promise((resolve) => setTimeout(resolve, 300));
      puts.finished += 1;
    },
  };
  return { kv, puts };
}

/** Sends the request, reads the whole body as a client would, then waits for the invocation's waitUntil work. */
async function sendAndDrain(request: Request, bindings: WorkerEnv): Promise<string> {
  const ctx = createExecutionContext();
  const response = await createWorker(silentLogger).fetch(request, bindings, ctx);
  expect(response.status).toBe(200);
  const body = await response.text();
  await waitOnExecutionContext(ctx);
  return body;
}

describe("after the response on Workers", () => {
  for (const stream of [false, true]) {
    it(`finishes every KV write within waitUntil (stream: ${stream})`, async () => {
      const { kv, puts } = slowKv();
      const body = await sendAndDrain(chatRequest({ stream, verdict: { n: 3 } }), { ...workerEnv, VERDICT_KV: kv });
      if (stream) expect(body).toMatch(/data: \[DONE\]\n\n$/);
      expect(puts.started).toBeGreaterThan(0);
      expect(puts.finished).toBe(puts.started);
    });

    it(`exports the request's spans within waitUntil, before the flush timer (stream: ${stream})`, async () => {
      const collector = inject("collectorUrl");
      const traceId = crypto.randomUUID().replaceAll("-", "");
      const traceparent = `00-${traceId}-${"1".repeat(16)}-01`;
      // The export timer is far off: only the adapter's own flush can have sent the spans by the time waitUntil is done.
      const config = { judge: { model: "sim-judge" }, generator: { supports_n: false }, tracing: { flush_ms: 600_000 } };
      const bindings = { ...workerEnv, VERDICT_CONFIG_JSON: JSON.stringify(config), OTEL_EXPORTER_OTLP_ENDPOINT: collector };
      await sendAndDrain(chatRequest({ stream, verdict: { n: 2 } }, { traceparent }), bindings);
      const { spans } = (await (await fetch(`${collector}/collected`)).json()) as { spans: { name: string; traceId: string }[] };
      const names = spans.filter((span) => span.traceId === traceId).map((span) => span.name);
      expect(names).toContain("POST chat_completions");
      expect(names.filter((name) => name === "judge").length).toBeGreaterThan(0);
    });
  }
});
