// Test wiring: verdict and the simulator in one process, joined by fetch functions instead of sockets.
import OpenAI from "openai";
import type { Hono } from "hono";
import { createApp, type AppDeps } from "../src/app";
import { loadConfig } from "../src/config";
import { createSimulator, type Simulator } from "./sim/server";
import type { SimOptionsInput } from "./sim/options";

export const SIM_URL = "http://sim.test/v1";
export const VERDICT_URL = "http://verdict.test/v1";

/** fetch into an in-process app; like real fetch, it rejects with the signal's reason when aborted before the answer. */
export function fetchInto(app: Hono): typeof globalThis.fetch {
  return (input, init) => {
    const request = new Request(input as RequestInfo, init);
    const { signal } = request;
    if (signal.aborted) return Promise.reject(signal.reason);
    return new Promise<Response>((resolve, reject) => {
      const onAbort = () => reject(signal.reason);
      signal.addEventListener("abort", onAbort, { once: true });
      Promise.resolve(app.fetch(request))
        .then(resolve, reject)
        .finally(() => signal.removeEventListener("abort", onAbort));
    });
  };
}

/**
 * A request body as text, as upstream fakes read it: verdict's chat calls send bytes, other callers strings. A body of
 * another kind fails the test rather than reading as empty, which would quietly stop a fake from matching.
 */
export function bodyText(init: RequestInit | undefined): string {
  const body = init?.body;
  if (body === undefined || body === null) return "";
  if (typeof body === "string") return body;
  if (body instanceof Uint8Array) return new TextDecoder().decode(body);
  throw new Error(`bodyText: a body the fakes cannot read (${Object.prototype.toString.call(body)})`);
}

/** Deep-merges plain objects (arrays and values replace). */
function merge(base: Record<string, unknown>, extra: Record<string, unknown>): Record<string, unknown> {
  const out = { ...base };
  for (const [key, value] of Object.entries(extra)) {
    const current = out[key];
    const bothObjects = [current, value].every((v) => typeof v === "object" && v !== null && !Array.isArray(v));
    out[key] = bothObjects ? merge(current as Record<string, unknown>, value as Record<string, unknown>) : value;
  }
  return out;
}

export function testConfig(extra: Record<string, unknown> = {}) {
  const base = { generator: { base_url: SIM_URL, max_retries: 0 }, judge: { model: "sim-judge", max_retries: 0 } };
  return loadConfig({}, JSON.stringify(merge(base, extra)));
}

export interface Harness {
  sim: Simulator;
  app: Hono;
  client: OpenAI;
}

export function harness(options: { sim?: SimOptionsInput; config?: Record<string, unknown>; deps?: Partial<AppDeps> } = {}): Harness {
  const sim = createSimulator(options.sim);
  const app = createApp({ config: testConfig(options.config), fetch: fetchInto(sim.app), ...options.deps });
  const client = new OpenAI({ baseURL: VERDICT_URL, apiKey: "client-key", fetch: fetchInto(app), maxRetries: 0 });
  return { sim, app, client };
}

export function chatBody(extra: Record<string, unknown> = {}) {
  return { model: "sim-generator", messages: [{ role: "user", content: "Explain why the sky is blue." }], ...extra };
}

export function postChat(app: Hono, body: unknown, headers: Record<string, string> = {}) {
  return app.request("/v1/chat/completions", {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

/** Runs `work`, waits `settleMs` for late rejections, and returns those nobody handled (they take a Node process down). */
export async function unhandledDuring(work: () => Promise<void>, settleMs = 50): Promise<unknown[]> {
  const unhandled: unknown[] = [];
  const record = (reason: unknown) => void unhandled.push(reason);
  process.on("unhandledRejection", record);
  try {
    await work();
    await new Promise((resolve) => setTimeout(resolve, settleMs));
  } finally {
    process.off("unhandledRejection", record);
  }
  return unhandled;
}
