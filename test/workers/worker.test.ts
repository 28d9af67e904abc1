// The worker inside workerd against the simulator on loopback: best-of-4, judgments shared through KV, the bound of
// six upstream calls per request, and the answer to an invalid config.
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { describe, expect, inject, it } from "vitest";
import { createWorker, type WorkerEnv } from "../../src/adapters/worker-app";
import * as entry from "../../src/adapters/worker";
import { silentLogger } from "../../src/app";
import { qualityOf } from "../sim/random";

declare module "vitest" {
  export interface ProvidedContext {
    codedUrl: string;
  }
}

interface Verdict {
  n_candidates: number;
  winner: number;
  judge: { calls: number; cache_hits: number };
  candidates?: { message: { content: string } }[];
}
interface Completion {
  choices: { message: { content: string } }[];
  verdict: Verdict;
}
interface SimStats {
  generator: number;
  judge: number;
  peak_in_flight: number;
}

const workerEnv = env as Cloudflare.Env & WorkerEnv;
const simRoot = workerEnv.GENERATOR_BASE_URL.replace(/\/v1$/, "");

async function simStats(): Promise<SimStats> {
  return (await fetch(`${simRoot}/sim/stats`)).json();
}

function chatRequest(body: Record<string, unknown>): Request {
  const messages = [{ role: "user", content: `Explain ${crypto.randomUUID()} in simple words.` }];
  return new Request("http://verdict.test/v1/chat/completions", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "sim-generator", messages, ...body }),
  });
}

/** One request through a worker with its own isolate state, waiting for its waitUntil work (the KV writes). */
async function send(worker: ReturnType<typeof createWorker>, request: Request, bindings: WorkerEnv = workerEnv) {
  const ctx = createExecutionContext();
  const response = await worker.fetch(request, bindings, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

describe("upstream answers in a content coding, on Workers", () => {
  // verdict reads and forwards these as decoded (src/util/content-coding.ts): workerd's fetch must have undone them.
  it.each(["gzip", "x-gzip", "deflate", "br"])("reads and forwards a %s answer decoded, passed through and reranked", async (coding) => {
    const config = { generator: { supports_n: false }, judge: { model: "sim-judge", base_url: `${simRoot}/v1` } };
    const bindings = { ...workerEnv, GENERATOR_BASE_URL: `${inject("codedUrl")}/${coding}/v1`, VERDICT_CONFIG_JSON: JSON.stringify(config) };
    const passed = await send(createWorker(silentLogger), chatRequest({ verdict: { n: 1 } }), bindings);
    expect(passed.status).toBe(200);
    expect(passed.headers.get("content-encoding")).toBeNull();
    expect(((await passed.json()) as Completion).choices[0]!.message.content).toBe(`Answer 0 sent as ${coding}.`);
    const reranked = await send(createWorker(silentLogger), chatRequest({ verdict: { n: 2 } }), bindings);
    expect(reranked.status).toBe(200);
    const body = (await reranked.json()) as Completion;
    expect(body.verdict.n_candidates).toBe(2);
    expect(body.choices[0]!.message.content).toBe(`Answer ${body.verdict.winner} sent as ${coding}.`);
  });
});

describe("verdict on Workers", () => {
  it("exports nothing but the default handler from the entry module (workerd refuses other exports)", () => {
    expect(Object.keys(entry)).toEqual(["default"]);
  });

  it("answers best-of-4 through the deployed entry point with the best candidate", async () => {
    const before = await simStats();
    const response = await exports.default.fetch(chatRequest({ verdict: { n: 4, return_candidates: true } }));
    expect(response.status).toBe(200);
    expect(response.headers.get("x-verdict-candidates")).toBe("4");
    const body = (await response.json()) as Completion;
    const texts = body.verdict.candidates!.map((c) => c.message.content);
    expect(new Set(texts).size).toBe(4);
    const best = texts.reduce((a, b) => (qualityOf(a) >= qualityOf(b) ? a : b));
    expect(body.choices[0]!.message.content).toBe(best);
    const after = await simStats();
    expect(after.generator - before.generator).toBe(4);
    expect(after.judge - before.judge).toBe(body.verdict.judge.calls);
    expect(body.verdict.judge.calls).toBeGreaterThan(0);
  });

  it("relays a streamed pass-through as whole SSE events ending in [DONE]", async () => {
    // On Workers the body is read through its web stream (src/util/body-chunks.ts), guarded, and made a stream again.
    const response = await exports.default.fetch(chatRequest({ stream: true, verdict: { n: 1 } }));
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const text = await response.text();
    const events = text.split("\n\n").filter((e) => e !== "");
    expect(events.at(-1)).toBe("data: [DONE]");
    const content = events.slice(0, -1).map((e) => JSON.parse(e.slice("data: ".length)).choices[0]?.delta?.content ?? "").join("");
    expect(content.length).toBeGreaterThan(0);
  });

  it("serves concurrent requests in one isolate without making them wait on each other", async () => {
    // Workers cancel a request whose promise is resolved from another request's context as hung, so a queue
    // shared by an isolate's requests must never hold one back (the config above asks for one slot per queue).
    const responses = await Promise.all([1, 2, 3, 4].map(() => exports.default.fetch(chatRequest({ verdict: { n: 3 } }))));
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200, 200]);
  });

  it("reuses judgments from KV in a fresh isolate: the repeated request makes no judge call", async () => {
    // Rubric grades each candidate alone, so the judgments needed do not depend on which candidate arrived first.
    const request = chatRequest({ seed: 7, verdict: { n: 4, strategy: "rubric" } });
    const first = (await (await send(createWorker(silentLogger), request.clone())).json()) as Completion;
    expect(first.verdict.judge.calls).toBeGreaterThan(0);
    const stored = await workerEnv.VERDICT_KV.list({ prefix: "judgment:" });
    expect(stored.keys.length).toBeGreaterThan(0);

    const before = await simStats();
    // A new worker has an empty memory cache, like another isolate or location: only KV can answer.
    const second = (await (await send(createWorker(silentLogger), request)).json()) as Completion;
    expect(second.verdict.judge.calls).toBe(0);
    expect(second.verdict.judge.cache_hits).toBe(first.verdict.judge.calls);
    expect(second.choices[0]!.message.content).toBe(first.choices[0]!.message.content);
    expect((await simStats()).judge).toBe(before.judge);
  });

  it("keeps at most 6 upstream calls in flight for one request, whatever N and the config say", async () => {
    const config = { generator: { supports_n: false }, judge: { model: "sim-judge" }, limits: { max_inflight_per_request: 50 } };
    const bindings = { ...workerEnv, VERDICT_CONFIG_JSON: JSON.stringify(config) };
    await fetch(`${simRoot}/sim/stats/reset-peak`, { method: "POST" });
    const before = await simStats();
    const response = await send(createWorker(silentLogger), chatRequest({ verdict: { n: 12, tournament: "round_robin" } }), bindings);
    expect(response.status).toBe(200);
    const after = await simStats();
    expect(after.generator - before.generator).toBe(12);
    expect(after.judge - before.judge).toBeGreaterThan(12);
    // Exactly 6: the bound holds, and the request still uses all six connections rather than queueing one by one.
    expect(after.peak_in_flight).toBe(6);
  });

  it("answers 500 in OpenAI's error shape naming the bad field when the config is invalid", async () => {
    const bindings = { ...workerEnv, VERDICT_CONFIG_JSON: '{"judge":{"model":""},"defaults":{"n":0}}', GENERATOR_BASE_URL: "not a url" };
    const worker = createWorker(silentLogger);
    for (const _ of [1, 2]) {
      const response = await send(worker, chatRequest({}), bindings);
      expect(response.status).toBe(500);
      const body = (await response.json()) as { error: { message: string; type: string; code: string } };
      expect(body.error.type).toBe("server_error");
      expect(body.error.code).toBe("invalid_config");
      expect(body.error.message).toMatch(/generator\.base_url/);
      expect(body.error.message).toMatch(/judge\.model/);
      expect(body.error.message).toMatch(/defaults\.n/);
    }
    const redisConfig = { judge: { model: "sim-judge" }, cache: { backend: "redis", redis_url: "redis://127.0.0.1:6399" } };
    const response = await send(createWorker(silentLogger), chatRequest({}), { ...workerEnv, VERDICT_CONFIG_JSON: JSON.stringify(redisConfig) });
    expect(response.status).toBe(500);
    expect(((await response.json()) as { error: { message: string } }).error.message).toMatch(/cache\.backend: "redis".*VERDICT_KV/);
  });
});
