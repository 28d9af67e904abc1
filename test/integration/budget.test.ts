// One time budget per request (timeouts.request_ms): whatever hangs, the client hears back within it plus a small margin.
import { connect } from "node:net";
import { beforeAll, describe, expect, it } from "vitest";
import { startProxy } from "../../src/adapters/node";
import { silentLogger } from "../../src/app";
import { guardedAsk, rowsTheStandInSeparates } from "../guard-rows";
import { bodyText, chatBody, fetchInto, harness, postChat, testConfig } from "../helpers";
import { createSimulator } from "../sim/server";
import { startSimulator } from "../sim/start";
import { createLayeredCache } from "../../src/cache/layered";
import { createMemoryCache } from "../../src/cache/memory";
import type { JudgmentCache } from "../../src/cache/types";

const BUDGET_MS = 200;
/** How far past the budget an answer may come. Measured in-process: 1-5 ms; the bound leaves room for a busy CI box. */
const MARGIN_MS = 100;

async function timed(run: () => Response | Promise<Response>) {
  const started = performance.now();
  const response = await run();
  return { response, elapsed: performance.now() - started };
}

/** An upstream call that never answers: it ends only when the caller aborts it. */
const answerNever = (init?: RequestInit) =>
  new Promise<Response>((_, reject) => init?.signal?.addEventListener("abort", () => reject(init.signal!.reason)));

const config = (extra: Record<string, unknown> = {}) => ({
  timeouts: { request_ms: BUDGET_MS },
  // Per-call timeouts far longer than the budget: only the budget can end these requests.
  generator: { timeout_ms: 60_000, max_retries: 3 },
  judge: { timeout_ms: 60_000, max_retries: 3 },
  ...extra,
});

describe("request budget", () => {
  // The margin is about the budget, not about compiling code paths on first use: warm them up once.
  beforeAll(async () => {
    const { app } = harness();
    await postChat(app, chatBody({ verdict: { n: 2 } }));
    await postChat(app, chatBody({ verdict: { n: 1 } }));
  });

  it("answers 504 on time when every generator call hangs, and abandons the hung calls", async () => {
    const { app, sim } = harness({ sim: { faults: { generator: { rate: 1, kinds: ["hang"] } } }, config: config() });
    const { response, elapsed } = await timed(() => postChat(app, chatBody({ verdict: { n: 3 } })));
    expect(response.status).toBe(504);
    expect((await response.json()).error).toMatchObject({ type: "timeout_error", code: "request_timeout" });
    expect(elapsed).toBeGreaterThanOrEqual(BUDGET_MS - 5);
    expect(elapsed).toBeLessThan(BUDGET_MS + MARGIN_MS);
    await new Promise((r) => setTimeout(r, 10));
    expect(sim.requests.length).toBeGreaterThan(0);
    expect(sim.requests.every((r) => r.aborted)).toBe(true);
  });

  it("answers on time when the judge hangs: failing closed, the budget's 504", async () => {
    const { app } = harness({ sim: { faults: { judge: { rate: 1, kinds: ["hang"] } } }, config: config({ judge: { timeout_ms: 60_000, on_error: "fail_closed" } }) });
    const { response, elapsed } = await timed(() => postChat(app, chatBody({ verdict: { n: 2 } })));
    expect(response.status).toBe(504);
    expect(elapsed).toBeLessThan(BUDGET_MS + MARGIN_MS);
  });

  it("failing open, gives up on a judge that never answers just before the budget ends, and answers unjudged", async () => {
    const warnings: Record<string, unknown>[] = [];
    const logger = { ...silentLogger, warn: (event: Record<string, unknown>) => void warnings.push(event) };
    const { app } = harness({ sim: { faults: { judge: { rate: 1, kinds: ["hang"] } } }, config: config({ judge: { timeout_ms: 60_000, on_error: "fail_open" } }), deps: { logger } });
    const { response, elapsed } = await timed(() => postChat(app, chatBody({ verdict: { n: 2 } })));
    expect(response.status).toBe(200);
    const { verdict } = await response.json();
    expect(verdict.degraded).toBe("judge_unavailable");
    // What failing closed would have answered: the budget's 504, not a 502 for an unreachable judge.
    expect(verdict.judge_error).toMatchObject({ status: 504 });
    expect(elapsed).toBeLessThan(BUDGET_MS + MARGIN_MS);
    // The operator's log line says the same: a judge too slow, not one that refused or was down.
    expect(warnings).toEqual([expect.objectContaining({ event: "request", status: 200, judge_status: 504, judge_error: "judge_timeout" })]);
  });

  it("answers on time when a pass-through call hangs", async () => {
    const { app } = harness({ sim: { faults: { generator: { rate: 1, kinds: ["hang"] } } }, config: config() });
    const { response, elapsed } = await timed(() => postChat(app, chatBody({ verdict: { n: 1 } })));
    expect(response.status).toBe(504);
    // The budget ran out, not generator.timeout_ms: said as a reranked request says it.
    expect((await response.json()).error).toMatchObject({ type: "timeout_error", code: "request_timeout" });
    expect(elapsed).toBeLessThan(BUDGET_MS + MARGIN_MS);
  });

  it("counts a pass-through's budget from its first byte: an upload that took the whole budget goes no further", async () => {
    for (const path of ["/v1/chat/completions", "/v1/responses", "/v1/embeddings"]) {
      const { app, sim } = harness({ config: config() });
      const body = path === "/v1/responses" ? { model: "sim-generator", input: "hi", verdict: { n: 1 } } : path === "/v1/embeddings" ? { model: "e", input: "hi" } : chatBody({ verdict: { n: 1 } });
      const bytes = new TextEncoder().encode(JSON.stringify(body));
      // The body's last byte comes after the budget has run out.
      const slowUpload = new ReadableStream<Uint8Array>({
        async start(controller) {
          controller.enqueue(bytes.subarray(0, 5));
          await new Promise((resolve) => setTimeout(resolve, BUDGET_MS + 50));
          controller.enqueue(bytes.subarray(5));
          controller.close();
        },
      });
      const request = new Request(`http://verdict.test${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: slowUpload, duplex: "half" } as RequestInit);
      const response = await app.request(request);
      expect(response.status).toBe(504);
      expect((await response.json()).error).toMatchObject({ type: "timeout_error", code: "request_timeout" });
      expect(sim.requests).toHaveLength(0);
    }
  });

  /**
   * A body sent over a raw socket to a Node proxy on the simulator: `head` of it at once, the rest after `restAfterMs`
   * (never, when undefined). A chat body with a Content-Length by default (the Node chat lane reads it); `path` and
   * `chunked` send it where the app reads it. Resolves with all the proxy answered once it closes the connection.
   */
  async function uploadSlowly(head: number, restAfterMs?: number, { path = "/v1/chat/completions", chunked = false } = {}): Promise<{ answer: string; upstreamCalls: number }> {
    const upstream = await startSimulator();
    const proxy = await startProxy(testConfig({ ...config(), generator: { base_url: upstream.url }, server: { port: 0 } }), silentLogger);
    try {
      const body = JSON.stringify(path === "/v1/responses" ? { model: "sim-generator", input: "hi", verdict: { n: 2 } } : chatBody({ verdict: { n: 1 } }));
      const framing = chunked ? "transfer-encoding: chunked" : `content-length: ${Buffer.byteLength(body)}`;
      const piece = (text: string) => (chunked ? `${Buffer.byteLength(text).toString(16)}\r\n${text}\r\n` : text);
      const answer = await new Promise<string>((resolve, reject) => {
        const socket = connect(Number(new URL(proxy.url).port), "127.0.0.1");
        let text = "";
        socket.on("data", (chunk) => (text += chunk.toString()));
        socket.on("close", () => resolve(text));
        socket.on("error", reject);
        socket.write(`POST ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n${framing}\r\nconnection: close\r\n\r\n${piece(body.slice(0, head))}`);
        if (restAfterMs !== undefined) setTimeout(() => socket.write(piece(body.slice(head)) + (chunked ? "0\r\n\r\n" : "")), restAfterMs);
      });
      return { answer, upstreamCalls: upstream.sim.requests.length };
    } finally {
      await proxy.close();
      await upstream.close();
    }
  }

  it("counts it from the first byte on the Node server's own chat lane too", async () => {
    const { answer, upstreamCalls } = await uploadSlowly(10, BUDGET_MS + 50);
    expect(answer).toMatch(/^HTTP\/1\.1 504/);
    expect(answer).toMatch(/"code":"request_timeout"/);
    expect(upstreamCalls).toBe(0);
  });

  it("answers the budget's 504 to a body that never finishes arriving, and closes its connection", async () => {
    const started = performance.now();
    const { answer, upstreamCalls } = await uploadSlowly(10);
    expect(answer).toMatch(/^HTTP\/1\.1 504/);
    expect(answer).toMatch(/"code":"request_timeout"/);
    expect(performance.now() - started).toBeLessThan(BUDGET_MS + MARGIN_MS + 500);
    expect(upstreamCalls).toBe(0);
  });

  it.each([
    ["a Responses body", { path: "/v1/responses" }],
    ["a chunked chat body", { chunked: true }],
    ["a pass-through body of another route", { path: "/v1/files" }],
  ])("answers the budget's 504 to %s that never finishes arriving, read by the app, and closes its connection", async (_name, request) => {
    const started = performance.now();
    const { answer, upstreamCalls } = await uploadSlowly(10, undefined, request);
    expect(answer).toMatch(/^HTTP\/1\.1 504/);
    expect(answer).toMatch(/"code":"request_timeout"/);
    expect(performance.now() - started).toBeLessThan(BUDGET_MS + MARGIN_MS + 500);
    expect(upstreamCalls).toBe(0);
  });

  it("starts no backoff that would end after the budget: the upstream's error comes back early instead", async () => {
    const { app, sim } = harness({
      sim: { faults: { retry_after_ms: 300, generator: { rate: 1, kinds: ["status_429_retry_after"] } } },
      config: config({ timeouts: { request_ms: 500 }, generator: { max_retries: 10 }, retry: { max_retry_after_ms: 5_000 } }),
    });
    const { response, elapsed } = await timed(() => postChat(app, chatBody({ verdict: { n: 2 } })));
    expect(response.status).toBe(429);
    expect(elapsed).toBeLessThan(500);
    expect(sim.count("generator")).toBe(2); // first try, one retry after ~300 ms; a second wait would not fit
  });

  it("keeps per-call timeouts inside the budget: a hung attempt is retried and the request still succeeds", async () => {
    const { app } = harness({
      sim: { faults: { generator: { script: ["hang"] } } },
      config: config({ generator: { timeout_ms: 50, max_retries: 2 }, retry: { base_delay_ms: 1 } }),
    });
    const { response, elapsed } = await timed(() => postChat(app, chatBody({ verdict: { n: 2 } })));
    expect(response.status).toBe(200);
    expect(elapsed).toBeLessThan(BUDGET_MS);
  });

  it.each(["knockout", "round_robin"])("%s: judge retries keep to the budget, so fail_open answers instead of a 504", async (tournament) => {
    const { app } = harness({
      sim: { faults: { retry_after_ms: 300, judge: { rate: 1, kinds: ["status_429_retry_after"] } } },
      config: config({ timeouts: { request_ms: 500 }, judge: { max_retries: 10, on_error: "fail_open" }, retry: { max_retry_after_ms: 5_000 } }),
    });
    const { response, elapsed } = await timed(() => postChat(app, chatBody({ verdict: { n: 3, tournament, cache: false } })));
    expect(response.status).toBe(200);
    expect((await response.json()).verdict.degraded).toBe("judge_unavailable");
    expect(elapsed).toBeLessThan(500);
  });

  it("failing open, a generator still drawing is not put down to the judge: the budget's own 504", async () => {
    let draws = 0;
    const sim = createSimulator({ supports_n: false });
    const inner = fetchInto(sim.app);
    // Two draws answer, the others never do; the judge is healthy.
    const fetch: typeof globalThis.fetch = (input, init) => {
      const judging = bodyText(init).includes("response_a");
      if (judging || ++draws <= 3) return inner(input, init); // the refused n call, then two draws
      return answerNever(init);
    };
    const { app } = harness({ deps: { fetch }, config: config({ judge: { timeout_ms: 60_000, on_error: "fail_open" } }) });
    const response = await postChat(app, chatBody({ verdict: { n: 4 } }));
    expect(response.status).toBe(504);
    expect((await response.json()).error.code).toBe("request_timeout");
  });

  it("failing open, a guard cut short by the budget keeps to its settled checks: never the answer that failed", async () => {
    const [row] = rowsTheStandInSeparates();
    const sim = createSimulator({ generator: { answers: [row!.hallucinated_answer, row!.right_answer] } });
    const inner = fetchInto(sim.app);
    // The hallucinated answer is checked (and failed) at once; the right answer's check never comes back.
    const fetch: typeof globalThis.fetch = (input, init) => {
      const body = bodyText(init);
      // The answer's own section: the document may hold the right answer's words too.
      if (body.includes(JSON.stringify(`<ANSWER>\n${row!.right_answer}`).slice(1, -1))) {
        return answerNever(init);
      }
      return inner(input, init);
    };
    const { app } = harness({ deps: { fetch }, config: config() });
    const response = await postChat(app, guardedAsk(row!, { n: 2, on_judge_error: "fail_open" }));
    const text = await response.text();
    expect(text).not.toContain(row!.hallucinated_answer);
    // The check that never came back counts as never made: that answer is returned unchecked, and says so.
    expect(response.status).toBe(200);
    const body = JSON.parse(text);
    expect(body.verdict).toMatchObject({ grounded: false, degraded: "judge_unavailable" });
    expect(body.verdict.checks).toEqual([expect.objectContaining({ index: 0, verdict: "FAIL" })]);
    expect(body.choices[0].message.content).toBe(row!.right_answer);
  });

  it("failing open, a guard whose shared cache answers slowly (inside its timeout) still answers unjudged on time", async () => {
    // A shared layer (Redis) answering each read and write after 120 ms of the 200 ms budget; the candidates take 100.
    const slow = () => new Promise((resolve) => setTimeout(resolve, 120));
    const back: JudgmentCache = { get: () => slow().then(() => undefined), set: () => slow().then(() => undefined) };
    const front = createMemoryCache({ max_entries: 100, max_bytes: 1 << 20, ttl_ms: 60_000 });
    const cache = createLayeredCache({ front, back, name: "redis", ttlMs: 60_000, writeBehind: false, warn: () => undefined, info: () => undefined });
    const { app } = harness({ sim: { generator: { latency: { ttft_ms: 100 } } }, config: config(), deps: { cache } });
    const guarded = chatBody({ messages: [{ role: "user", content: "What colour is the sky?" }], verdict: { strategy: "guard", context: "The sky is blue.", n: 2, on_judge_error: "fail_open" } });
    const { response, elapsed } = await timed(() => postChat(app, guarded));
    expect(response.status).toBe(200);
    expect((await response.json()).verdict).toMatchObject({ grounded: false, degraded: "judge_unavailable" });
    expect(elapsed).toBeLessThan(BUDGET_MS + MARGIN_MS);
  });

  it("failing open, a last candidate that lands just after the cutoff still leaves time to answer unjudged", async () => {
    // A 4 s budget: judging gives way 200 ms before its end; the last draw comes 150 ms later, with 50 ms to spare.
    let draws = 0;
    const sim = createSimulator({ supports_n: false });
    const inner = fetchInto(sim.app);
    const fetch: typeof globalThis.fetch = async (input, init) => {
      if (bodyText(init).includes("response_a")) return answerNever(init);
      if (++draws === 4) await new Promise((r) => setTimeout(r, 3_850)); // the refused n call, two draws, then the late one
      return inner(input, init);
    };
    const { app } = harness({ deps: { fetch }, config: config({ timeouts: { request_ms: 4_000 }, judge: { timeout_ms: 60_000, on_error: "fail_open" } }) });
    const { response, elapsed } = await timed(() => postChat(app, chatBody({ verdict: { n: 3 } })));
    expect(response.status).toBe(200);
    expect((await response.json()).verdict).toMatchObject({ degraded: "judge_unavailable", n_candidates: 3 });
    expect(elapsed).toBeLessThan(4_000);
  }, 10_000);

  it("failing open, a healthy judge still judges a last candidate that lands just after the cutoff", async () => {
    let draws = 0;
    const sim = createSimulator({ supports_n: false, judge: { latency: { ttft_ms: 5 } } });
    const inner = fetchInto(sim.app);
    const fetch: typeof globalThis.fetch = async (input, init) => {
      const judging = bodyText(init).includes("response_a");
      if (!judging && ++draws === 4) await new Promise((r) => setTimeout(r, 3_830)); // 30 ms after the cutoff
      return inner(input, init);
    };
    const { app } = harness({ deps: { fetch }, config: config({ timeouts: { request_ms: 4_000 }, judge: { timeout_ms: 60_000, on_error: "fail_open" } }) });
    const response = await postChat(app, chatBody({ verdict: { n: 3 } }));
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body.verdict).not.toHaveProperty("degraded");
    expect(body.verdict.n_candidates).toBe(3);
  }, 10_000);
});
