// One JSON log line per request: the fields operators search by, never content unless asked, never keys.
import { describe, expect, it } from "vitest";
import { createJsonLogger } from "../../src/adapters/node";
import type { LogLevel } from "../../src/observe/config";
import { createApp } from "../../src/app";
import { encodeEvent } from "../../src/openai/sse";
import { guardedAsk, rowsTheStandInSeparates } from "../guard-rows";
import { chatBody, fetchInto, harness, postChat, testConfig } from "../helpers";
import { createSimulator } from "../sim/server";

function capture(level: LogLevel = "info") {
  const lines: { stream: "out" | "err"; text: string }[] = [];
  const logger = createJsonLogger(level, {
    out: (text) => lines.push({ stream: "out", text }),
    err: (text) => lines.push({ stream: "err", text }),
  });
  const events = () => lines.map((l) => JSON.parse(l.text) as Record<string, unknown>);
  return { logger, lines, events };
}

const PROMPT = "Explain why the sky is blue.";

describe("request log lines", () => {
  it("write one line per request with id, model, strategy, N, winner, judge calls, cache hits, timings and status", async () => {
    const log = capture();
    const { app } = harness({ deps: { logger: log.logger }, config: { generator: { api_key: "sk-upstream-SECRET" } } });
    const response = await postChat(app, chatBody({ verdict: { n: 4, tournament: "knockout" } }), {
      "x-request-id": "log-1",
      authorization: "Bearer sk-client-SECRET",
    });
    const body = await response.json();
    expect(log.lines).toHaveLength(1);
    expect(log.lines[0]!.stream).toBe("out");
    const [line] = log.events();
    expect(line).toMatchObject({
      level: "info",
      event: "request",
      request_id: "log-1",
      method: "POST",
      route: "chat_completions",
      status: 200,
      model: "sim-generator",
      strategy: "pairwise",
      n: 4,
      candidates: 4,
      winner: body.verdict.winner,
      judge_calls: 6,
      cache_hits: 0,
    });
    expect(new Date(line!.time as string).getTime()).not.toBeNaN();
    for (const field of ["total_ms", "sampling_ms", "judging_ms"]) expect(line![field]).toEqual(expect.any(Number));
    expect(line!.total_ms as number).toBeGreaterThanOrEqual(line!.sampling_ms as number);
    const text = log.lines[0]!.text;
    expect(text).not.toContain(PROMPT);
    expect(text).not.toContain(body.choices[0].message.content);
    expect(text).not.toContain("SECRET");
  });

  it("include the prompt and the answer only with log.content: true", async () => {
    const log = capture();
    const { app } = harness({ deps: { logger: log.logger }, config: { log: { content: true } } });
    const body = await (await postChat(app, chatBody({ verdict: { n: 2 } }))).json();
    const [line] = log.events();
    expect(line!.messages).toEqual([{ role: "user", content: PROMPT }]);
    expect(line!.completion).toBe(body.choices[0].message.content);
  });

  it("stay one valid line when a token to redact follows a JSON escape, and the request still succeeds", async () => {
    const log = capture();
    const { app } = harness({ deps: { logger: log.logger } });
    // In JSON the carriage return is `\r`: redacting the serialised text would have cut that escape in half.
    const response = await postChat(app, chatBody({ model: "my\rk-model-name-x", verdict: { n: 2 } }));
    expect(response.status).toBe(200);
    expect(log.lines).toHaveLength(1);
    const [line] = log.events();
    expect(line).toMatchObject({ event: "request", status: 200, model: "my\rk-model-name-x" }); // nothing secret in it
  });

  it("never hold a configured key, even one with a quote and a backslash that JSON escapes", async () => {
    const key = 'proxy"key\\123-secret';
    const log = capture();
    const { app } = harness({ deps: { logger: log.logger }, config: { generator: { api_key: key }, log: { content: true } } });
    const response = await postChat(app, chatBody({ messages: [{ role: "user", content: `is ${key} my key?` }], verdict: { n: 2 } }));
    expect(response.status).toBe(200);
    const [line] = log.events();
    expect(JSON.stringify(line)).not.toContain("123-secret");
    expect(line!.messages).toEqual([{ role: "user", content: "is [redacted] my key?" }]);
  });

  it("never hold the key a client brings for the generator (auth.forward_client_key), though no config names it", async () => {
    const key = "myupstreamkey-abcdef123456";
    const log = capture();
    const { app } = harness({ deps: { logger: log.logger }, config: { auth: { forward_client_key: true }, log: { content: true } } });
    const response = await postChat(app, chatBody({ messages: [{ role: "user", content: `here is my api key: ${key}` }], verdict: { n: 2 } }), { authorization: `Bearer ${key}` });
    expect(response.status).toBe(200);
    const [line] = log.events();
    expect(JSON.stringify(line)).not.toContain(key);
    expect(line!.messages).toEqual([{ role: "user", content: "here is my api key: [redacted]" }]);
  });

  it("name the error code of a failed request, and go to stderr at warn for a 5xx", async () => {
    const log = capture();
    const { app } = harness({ deps: { logger: log.logger } });
    await postChat(app, { model: "sim-generator" });
    const unreachable = createApp({ config: testConfig(), logger: log.logger, fetch: () => Promise.reject(new TypeError("fetch failed")) });
    await postChat(unreachable, chatBody({ verdict: { n: 1 } }));
    const [bad, down] = log.events();
    expect(bad).toMatchObject({ level: "info", status: 400, error: "invalid_request_error" });
    expect(bad).not.toHaveProperty("strategy");
    expect(down).toMatchObject({ level: "warn", status: 502, strategy: "none", error: "generator_unreachable" });
    expect(log.lines[1]!.stream).toBe("err");
  });

  it("name an upstream's own error code only when it is a short word, not free text it put there", async () => {
    const log = capture();
    const text = `user said: my password is hunter2 ${"x".repeat(60_000)}`;
    const refusing = async () => Response.json({ error: { message: "no", type: "invalid_request_error", code: text } }, { status: 400 });
    const app = createApp({ config: testConfig({ generator: { max_retries: 0 } }), logger: log.logger, fetch: refusing });
    const response = await postChat(app, chatBody({ verdict: { n: 2 } }));
    expect(response.status).toBe(400);
    const [line] = log.lines;
    expect(line!.text.length).toBeLessThan(2_000);
    expect(line!.text).not.toContain("hunter2");
    const worded = async () => Response.json({ error: { message: "no", code: "context_length_exceeded" } }, { status: 400 });
    await postChat(createApp({ config: testConfig({ generator: { max_retries: 0 } }), logger: log.logger, fetch: worded }), chatBody({ verdict: { n: 2 } }));
    expect(log.events()[1]).toMatchObject({ status: 400, error: "context_length_exceeded" });
  });

  it("name a failure relayed as the upstream sent it, passed through or on the model list, apart from verdict's own", async () => {
    const log = capture();
    const refusing = async () => Response.json({ error: { message: "bad key", type: "invalid_request_error" } }, { status: 401 });
    const app = createApp({ config: testConfig({ generator: { max_retries: 0 } }), logger: log.logger, fetch: refusing });
    expect((await postChat(app, chatBody({ verdict: { n: 1 } }))).status).toBe(401);
    expect((await app.request("/v1/models")).status).toBe(401);
    // verdict's own refusal of a path it has no route for is its own, not an upstream's.
    expect((await app.request("/nowhere")).status).toBe(404);
    expect(log.events().map((e) => [e.status, e.error])).toEqual([
      [401, "upstream_error"],
      [401, "upstream_error"],
      [404, "not_found"],
    ]);
  });
});

describe("a judge that fails", () => {
  /** The simulator, with every judge call refused as an upstream refuses a wrong key. */
  function refusingJudge() {
    const sim = createSimulator();
    const inner = fetchInto(sim.app);
    const fetch: typeof globalThis.fetch = async (input, init) => {
      if (!String(init?.body).includes('"model":"sim-judge"')) return inner(input, init);
      return Response.json({ error: { message: "Incorrect API key provided", type: "invalid_request_error", code: "invalid_api_key" } }, { status: 401 });
    };
    return fetch;
  }

  it("is named in the log line at warn with the judge's own status and code, though the client got an unjudged 200", async () => {
    const log = capture();
    const { app } = harness({ deps: { logger: log.logger, fetch: refusingJudge() } });
    const response = await postChat(app, chatBody({ verdict: { n: 2 } }));
    expect(response.status).toBe(200);
    expect((await response.json()).verdict.degraded).toBe("judge_unavailable");
    const [line] = log.events();
    expect(line).toMatchObject({ level: "warn", status: 200, degraded: "judge_unavailable", judge_status: 401, judge_error: "invalid_api_key" });
    expect(line).not.toHaveProperty("error");
    expect(log.lines[0]!.stream).toBe("err");
  });

  it("is named the same way when failing closed, beside the request's own error", async () => {
    const log = capture();
    const { app } = harness({ deps: { logger: log.logger, fetch: refusingJudge() }, config: { judge: { on_error: "fail_closed" } } });
    expect((await postChat(app, chatBody({ verdict: { n: 2 } }))).status).toBe(502);
    expect(log.events()[0]).toMatchObject({ level: "warn", status: 502, error: "judge_unavailable", judge_status: 401, judge_error: "invalid_api_key" });
  });

  it("is not named when the judge answered: a judged request stays at info without judge fields", async () => {
    const log = capture();
    const { app } = harness({ deps: { logger: log.logger } });
    expect((await postChat(app, chatBody({ verdict: { n: 2 } }))).status).toBe(200);
    const [line] = log.events();
    expect(line).toMatchObject({ level: "info", status: 200 });
    expect(line).not.toHaveProperty("judge_status");
    expect(line).not.toHaveProperty("judge_error");
  });
});

describe("what a failed request spent", () => {
  it("is in its log line as the metrics count it: the candidates drawn and the judge calls made before a 504", async () => {
    const log = capture();
    const { app } = harness({
      deps: { logger: log.logger },
      sim: { judge: { latency: { ttft_ms: 250, jitter: 0 } } },
      config: { timeouts: { request_ms: 400 }, judge: { on_error: "fail_closed" } },
    });
    const response = await postChat(app, chatBody({ verdict: { n: 4, tournament: "knockout" } }));
    expect(response.status).toBe(504);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const [line] = log.events();
    // The first round's two matches, both orders each, answered at 250 ms; the final's would at 500.
    expect(line).toMatchObject({ status: 504, error: "request_timeout", candidates: 4, judge_calls: 4, cache_hits: 0 });
    expect(line!.judging_ms).toEqual(expect.any(Number));
    expect(line).not.toHaveProperty("winner");
  });
});

describe("reranked streams in the log", () => {
  it("counts a judge call already answered when a knockout fails on another, though its judgment was still waiting", async () => {
    // Judge call 0 answers unreadably at once (its re-ask waits 400 ms), call 1 fails with a 500 at 100 ms, the rest
    // wait 400 ms: the request fails closed at 100 ms with one call answered and billed, in a judgment not yet ended.
    const sim = createSimulator();
    const simFetch = fetchInto(sim.app);
    let judgeCalls = 0;
    const wait = (ms: number, signal: AbortSignal | null | undefined) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, ms);
        signal?.addEventListener("abort", () => (clearTimeout(timer), reject(signal.reason)), { once: true });
      });
    const fetch: typeof globalThis.fetch = async (input, init) => {
      if ((JSON.parse(String(init?.body)) as { model?: string }).model !== "sim-judge") return simFetch(input, init);
      const call = judgeCalls++;
      if (call === 0) {
        const choices = [{ index: 0, message: { role: "assistant", content: "I cannot decide." }, finish_reason: "stop" }];
        return Response.json({ id: "j", object: "chat.completion", created: 1, model: "sim-judge", choices, usage: { prompt_tokens: 100, completion_tokens: 10, total_tokens: 110 } });
      }
      await wait(call === 1 ? 100 : 400, init?.signal);
      return call === 1 ? Response.json({ error: { message: "down", type: "server_error" } }, { status: 500 }) : simFetch(input, init);
    };
    const log = capture();
    const app = createApp({ config: testConfig({ judge: { on_error: "fail_closed" } }), fetch, logger: log.logger });
    const response = await postChat(app, chatBody({ verdict: { n: 4, tournament: "knockout" } }));
    expect(response.status).toBe(502);
    const [line] = log.events();
    expect(line).toMatchObject({ status: 502, judge_calls: 1 });
  });

  it("are logged when their work ends: the winner and timings on success, the failure's status and code otherwise", async () => {
    const log = capture();
    const { app } = harness({ deps: { logger: log.logger } });
    const streamed = await postChat(app, chatBody({ stream: true, verdict: { n: 3, tournament: "knockout" } }));
    await streamed.text();
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(log.events()).toEqual([
      expect.objectContaining({ level: "info", status: 200, strategy: "pairwise", candidates: 3, winner: expect.any(Number), judge_calls: 4 }),
    ]);
    expect(log.events()[0]!.judging_ms).toEqual(expect.any(Number));

    // Failed before the stream began (answered 502) and after (a 200 whose stream ends in an error event): both are
    // logged once, with the failure's status.
    for (const [delayMs, answered] of [[0, 502], [60, 200]] as const) {
      const failing = capture();
      const unreachable = () => new Promise<Response>((_, reject) => setTimeout(() => reject(new TypeError("fetch failed")), delayMs));
      const down = createApp({ config: testConfig({ server: { keepalive_ms: 10 } }), logger: failing.logger, fetch: unreachable });
      const failed = await postChat(down, chatBody({ stream: true, verdict: { n: 2 } }));
      expect(failed.status).toBe(answered);
      expect(await failed.text()).toMatch(/generator_unreachable/);
      await new Promise((resolve) => setTimeout(resolve, 10));
      expect(failing.events()).toEqual([expect.objectContaining({ level: "warn", status: 502, error: "generator_unreachable" })]);
    }
  });

  it("log a reranked /v1/responses request under its own route, with its strategy", async () => {
    const log = capture();
    const { app } = harness({ deps: { logger: log.logger } });
    const response = await app.request("/v1/responses", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "sim-generator", input: "hi", verdict: { n: 2 } }),
    });
    await response.text();
    expect(log.events()).toEqual([expect.objectContaining({ route: "responses", strategy: "pairwise", status: 200 })]);
  });
});

describe("log levels", () => {
  it("drop events below the configured level before they are written", () => {
    const log = capture("warn");
    log.logger.debug?.({ event: "d" });
    log.logger.info({ event: "i" });
    log.logger.warn({ event: "w" });
    log.logger.error({ event: "e" });
    expect(log.events().map((e) => [e.level, e.event])).toEqual([["warn", "w"], ["error", "e"]]);
  });

  it("log health checks and scrapes only at debug", async () => {
    const quiet = capture("info");
    const loud = capture("debug");
    for (const log of [quiet, loud]) {
      const { app } = harness({ deps: { logger: log.logger } });
      await app.request("/healthz");
      await app.request("/metrics");
    }
    expect(quiet.lines).toHaveLength(0);
    expect(loud.events().map((e) => [e.level, e.route, e.status])).toEqual([["debug", "healthz", 200], ["debug", "metrics", 200]]);
  });
});

describe("a client that leaves", () => {
  /** Posts a chat request and leaves after `leaveMs`; resolves once its log line is written. */
  async function leaveAfter(app: ReturnType<typeof createApp>, body: unknown, leaveMs: number, lines: () => unknown[]) {
    const leaving = new AbortController();
    setTimeout(() => leaving.abort(), leaveMs);
    await Promise.resolve(app.request("/v1/chat/completions", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body), signal: leaving.signal })).catch(() => undefined);
    for (let waited = 0; lines().length === 0 && waited < 3_000; waited += 10) await new Promise((resolve) => setTimeout(resolve, 10));
  }

  it("while a retry waits out the upstream's 503 is logged as 499 cancelled, not as the upstream's failure", async () => {
    const log = capture();
    const busy = async () => new Response('{"error":{"message":"busy"}}', { status: 503, headers: { "retry-after": "1" } });
    const config = testConfig({ generator: { max_retries: 2 }, retry: { max_retry_after_ms: 5_000 } });
    const app = createApp({ config, logger: log.logger, fetch: busy });
    await leaveAfter(app, chatBody({ verdict: { n: 1 } }), 100, log.events);
    expect(log.events()).toEqual([expect.objectContaining({ level: "info", status: 499, error: "cancelled" })]);
  });

  it("while the model list is fetched is logged as 499, not as the generator's outage", async () => {
    const log = capture();
    const slow: typeof fetch = (_input, init) =>
      new Promise((_, reject) => init?.signal?.addEventListener("abort", () => reject(init.signal!.reason)));
    const app = createApp({ config: testConfig(), logger: log.logger, fetch: slow });
    const leaving = new AbortController();
    setTimeout(() => leaving.abort(), 50);
    await Promise.resolve(app.request("/v1/models", { signal: leaving.signal })).catch(() => undefined);
    for (let waited = 0; log.events().length === 0 && waited < 3_000; waited += 10) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(log.events()).toEqual([expect.objectContaining({ route: "models", status: 499, error: "cancelled" })]);
  });

  it("while slower candidates are drawn is logged as 499, not as a 200 with candidates lost", async () => {
    const log = capture();
    const sim = harness().sim;
    let calls = 0;
    // One candidate at once, the others a second later: the client leaves between them.
    const fetch: typeof globalThis.fetch = async (input, init) => {
      const slow = JSON.parse(String(init?.body)).model === "sim-generator" && ++calls > 1;
      if (slow) await new Promise((resolve, reject) => { setTimeout(resolve, 1_000); init?.signal?.addEventListener("abort", () => reject(init.signal!.reason)); });
      return fetchInto(sim.app)(input, init);
    };
    const app = createApp({ config: testConfig({ generator: { supports_n: false } }), logger: log.logger, fetch });
    await leaveAfter(app, chatBody({ verdict: { n: 3 } }), 150, log.events);
    expect(log.events()).toEqual([expect.objectContaining({ status: 499, error: "cancelled" })]);
    expect(log.events()[0]!.degraded).toBeUndefined();
  });

  it("while a streamed draw's slower candidates are written is logged as 499, not as a 200 with candidates lost", async () => {
    const log = capture();
    const first = encodeEvent({ id: "c", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta: { role: "assistant", content: "Done." }, finish_reason: "stop" }] });
    // The first candidate at once, then nothing until the client has left.
    const fetch: typeof globalThis.fetch = async (_input, init) =>
      new Response(
        new ReadableStream({
          start(controller) {
            controller.enqueue(new TextEncoder().encode(first));
            init?.signal?.addEventListener("abort", () => controller.error(init.signal!.reason));
          },
        }),
        { headers: { "content-type": "text/event-stream" } },
      );
    const app = createApp({ config: testConfig({ generator: { stream_sampling: true, supports_n: true } }), logger: log.logger, fetch });
    await leaveAfter(app, chatBody({ verdict: { n: 3 } }), 150, log.events);
    expect(log.events()).toEqual([expect.objectContaining({ status: 499, error: "cancelled" })]);
    expect(log.events()[0]!.degraded).toBeUndefined();
  });
});

describe("log line fields a client shapes", () => {
  it("cuts a long model name, so a client cannot make every line that long", async () => {
    const log = capture();
    const { app } = harness({ deps: { logger: log.logger } });
    await postChat(app, chatBody({ model: "m".repeat(5_000), verdict: { n: 1 } }));
    const model = log.events()[0]!.model as string;
    expect(model.length).toBeLessThan(300);
    expect(model.startsWith("mmmm")).toBe(true);
  });

  it("logs an abstaining guard's winner as null, as the response says, not as a candidate number", async () => {
    const log = capture();
    const row = rowsTheStandInSeparates()[0]!;
    const { app } = harness({ deps: { logger: log.logger }, sim: { generator: { answers: [row.hallucinated_answer, `${row.hallucinated_answer} Indeed.`] } } });
    const body = await (await postChat(app, guardedAsk(row, { n: 2 }))).json();
    expect(body.verdict.winner).toBeNull();
    expect(log.events()[0]).toMatchObject({ status: 200, winner: null });
  });
});
