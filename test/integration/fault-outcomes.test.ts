// What clients see when faults outlast the retries: fewer candidates, the upstream's own error, judge.on_error, and
// streams that end in an error event rather than mid-line. Retries are off here, so each fault lands.
import OpenAI from "openai";
import { describe, expect, it } from "vitest";
import type { FaultKind } from "../sim/faults";
import { bodyText, chatBody, fetchInto, harness, postChat } from "../helpers";
import { createSimulator } from "../sim/server";

function expectOpenAIError(body: unknown) {
  expect(body).toEqual({ error: { message: expect.any(String), type: expect.any(String), param: null, code: expect.any(String) } });
}

describe("candidates lost to faults", () => {
  it("reduces N and reports it when some draws fail", async () => {
    const { app } = harness({
      sim: { faults: { generator: { script: ["status_503", "ok", "reset", "ok"] } } },
      config: { generator: { supports_n: false } },
    });
    const response = await postChat(app, chatBody({ verdict: { n: 4 } }));
    expect(response.status).toBe(200);
    const { verdict } = await response.json();
    expect(verdict.n_candidates).toBe(2);
    expect(verdict.degraded).toBe("candidates_lost");
    expect(verdict.errors.map((e: { status: number }) => e.status).sort()).toEqual([502, 503]);
  });

  it.each<[FaultKind, number, string]>([
    ["status_429_retry_after", 429, "rate_limit_error"],
    ["status_503", 503, "upstream_error"],
    ["reset", 502, "upstream_error"],
    ["malformed_json", 502, "upstream_error"],
    ["truncated_json", 502, "upstream_error"],
  ])("below min_candidates, %s reaches the client as %i %s, not a 500", async (fault, status, type) => {
    const { app } = harness({ sim: { faults: { generator: { rate: 1, kinds: [fault] } } } });
    const response = await postChat(app, chatBody({ verdict: { n: 3, min_candidates: 2 } }));
    expect(response.status).toBe(status);
    const body = await response.json();
    expectOpenAIError(body);
    expect(body.error.type).toBe(type);
    if (fault === "status_429_retry_after") expect(response.headers.get("retry-after")).toBe("1");
  });

  it("a hang past generator.timeout_ms is a 504 naming the generator", async () => {
    const { app } = harness({ sim: { faults: { generator: { rate: 1, kinds: ["hang"] } } }, config: { generator: { timeout_ms: 50 } } });
    const response = await postChat(app, chatBody({ verdict: { n: 2 } }));
    expect(response.status).toBe(504);
    expect((await response.json()).error.code).toBe("generator_timeout");
  });
});

describe("judge faults follow judge.on_error", () => {
  it.each<FaultKind>(["status_503", "reset", "malformed_json", "truncated_json", "hang"])(
    "fail_open: a judge failing with %s still gets the client an answer, flagged degraded",
    async (fault) => {
      const { app } = harness({ sim: { faults: { judge: { rate: 1, kinds: [fault] } } }, config: { judge: { timeout_ms: 50 } } });
      const response = await postChat(app, chatBody({ verdict: { n: 3 } }));
      expect(response.status).toBe(200);
      const body = await response.json();
      expect(body.verdict.degraded).toBe("judge_unavailable");
      expect(body.choices[0].message.content).toMatch(/simulated answer/);
    },
  );

  it("fail_closed: the same failure is a 502 judge_error", async () => {
    const { app } = harness({ sim: { faults: { judge: { rate: 1, kinds: ["reset"] } } }, config: { judge: { on_error: "fail_closed" } } });
    const response = await postChat(app, chatBody({ verdict: { n: 3 } }));
    expect(response.status).toBe(502);
    const body = await response.json();
    expectOpenAIError(body);
    expect(body.error).toMatchObject({ type: "judge_error", code: "judge_unavailable" });
  });

  it.each(["fail_closed", "fail_open"])("%s: a knockout whose first match fails answers at once, and the matches left in flight end with it", async (onError) => {
    const sim = createSimulator();
    const toSim = fetchInto(sim.app);
    let judgeCalls = 0;
    const inFlight = new Set<AbortSignal>();
    const aborted: AbortSignal[] = [];
    const fetch: typeof globalThis.fetch = async (input, init) => {
      if (!bodyText(init).includes('"model":"sim-judge"')) return toSim(input, init);
      if (++judgeCalls === 1) return Response.json({ error: { message: "bad judge request" } }, { status: 400 });
      const signal = init!.signal!;
      inFlight.add(signal);
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, 1_500);
        signal.addEventListener("abort", () => (clearTimeout(timer), aborted.push(signal), resolve(undefined)));
      });
      inFlight.delete(signal);
      return signal.aborted ? Promise.reject(signal.reason) : toSim(input, init);
    };
    const { app } = harness({ deps: { fetch }, config: { judge: { on_error: onError, max_retries: 0 } } });
    const started = Date.now();
    const response = await postChat(app, chatBody({ verdict: { n: 4, tournament: "knockout" } }));
    expect(Date.now() - started).toBeLessThan(700);
    expect(response.status).toBe(onError === "fail_closed" ? 502 : 200);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(inFlight.size).toBe(0);
    expect(aborted.length).toBeGreaterThan(0);
  });

  it.each<FaultKind>(["garbage", "empty"])("a judge answering %s is asked once more, then the match is a reported tie", async (fault) => {
    const { app, sim } = harness({ sim: { faults: { judge: { rate: 1, kinds: [fault] } } } });
    const response = await postChat(app, chatBody({ verdict: { n: 2, tournament: "knockout" } }));
    expect(response.status).toBe(200);
    const { verdict } = await response.json();
    expect(verdict.judge).toMatchObject({ calls: 4, unparsed: 2 }); // two orders, each asked twice
    expect(sim.count("judge")).toBe(4);
    expect(verdict.matches[0]).toMatchObject({ verdicts: ["tie", "tie"] });
    expect(["shorter_answer", "lower_index"]).toContain(verdict.matches[0].decided_by);
    expect(verdict.degraded).toBeUndefined();
  });
});

describe("a pass-through stream cut off by the upstream", () => {
  it("ends with a well-formed error event, never half an event", async () => {
    const { app } = harness({ sim: { faults: { generator: { script: ["truncated_sse"] } } } });
    const response = await postChat(app, chatBody({ stream: true }), { "x-verdict-n": "1" });
    expect(response.status).toBe(200);
    const text = await response.text();
    const events = text.split("\n\n").filter((e) => e !== "");
    expect(text.endsWith("\n\n")).toBe(true);
    for (const event of events) expect(() => JSON.parse(event.replace(/^data: /, ""))).not.toThrow();
    expect(JSON.parse(events.at(-1)!.slice("data: ".length)).error.code).toBe("upstream_stream_truncated");
  });

  it("makes the openai SDK throw instead of returning a silently short answer", async () => {
    const { client } = harness({ sim: { faults: { generator: { script: ["truncated_sse"] } } } });
    const stream = await client.chat.completions.create(
      { model: "sim-generator", messages: [{ role: "user", content: "Why is the sky blue?" }], stream: true },
      { headers: { "x-verdict-n": "1" } },
    );
    const read = async () => {
      for await (const _chunk of stream) void _chunk;
    };
    await expect(read()).rejects.toBeInstanceOf(OpenAI.APIError);
  });
});
