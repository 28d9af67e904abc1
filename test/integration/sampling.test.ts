// Sampling: one call with `n` where the upstream allows it, parallel calls where it does not.
import { describe, expect, it } from "vitest";
import { chatBody, harness, postChat } from "../helpers";

describe("sampling", () => {
  it("draws N candidates with parallel calls when the upstream refuses n, and remembers it", async () => {
    const { app, sim } = harness({ sim: { supports_n: false } });
    const first = await postChat(app, chatBody({ verdict: { n: 4, return_candidates: true } }));
    expect(first.status).toBe(200);
    const body = await first.json();
    expect(body.verdict.n_candidates).toBe(4);
    expect(new Set(body.verdict.candidates.map((c: { message: { content: string } }) => c.message.content)).size).toBe(4);
    // One refused call with n, then four single draws.
    expect(sim.requests.filter((r) => r.role === "generator").map((r) => r.body.n ?? 1)).toEqual([4, 1, 1, 1, 1]);

    await postChat(app, chatBody({ verdict: { n: 3 } }));
    expect(sim.count("generator")).toBe(5 + 3);
  });

  it("uses parallel calls from the start when config says supports_n is false, with a distinct seed each", async () => {
    const { app, sim } = harness({ config: { generator: { supports_n: false } } });
    const response = await postChat(app, chatBody({ seed: 100, verdict: { n: 3 } }));
    expect(response.status).toBe(200);
    const draws = sim.requests.filter((r) => r.role === "generator");
    expect(draws.map((r) => r.body.seed).sort()).toEqual([100, 101, 102]);
    expect(draws.every((r) => r.body.n === undefined)).toBe(true);
  });

  it("forwards every other request field unchanged to the generator", async () => {
    const { app, sim } = harness();
    const extra = {
      temperature: 0.7,
      top_p: 0.9,
      seed: 3,
      user: "u-1",
      metadata: { team: "a" },
      tools: [{ type: "function", function: { name: "lookup", parameters: { type: "object", properties: {} } } }],
      response_format: { type: "text" },
      some_future_field: [1, 2],
    };
    await postChat(app, chatBody({ ...extra, verdict: { n: 2 } }));
    const sent = sim.requests.find((r) => r.role === "generator")!.body;
    expect(sent).toMatchObject({ ...extra, n: 2, model: "sim-generator" });
    expect(sent).not.toHaveProperty("verdict");
    expect(sent).not.toHaveProperty("stream");
  });

  it("merges identical candidates and makes no judge call when all are the same", async () => {
    const { app, sim } = harness({ sim: { generator: { variants: 1 } } });
    const response = await postChat(app, chatBody({ verdict: { n: 4, return_candidates: true } }));
    const body = await response.json();
    expect(body.verdict.n_candidates).toBe(4);
    expect(body.verdict.judge.calls).toBe(0);
    expect(sim.count("judge")).toBe(0);
    expect(body.verdict.candidates[0].duplicates).toEqual([1, 2, 3]);
    expect(response.headers.get("x-verdict-judge-calls")).toBe("0");
  });

  it("judges only distinct candidates: two variants among four draws is one match", async () => {
    const { app, sim } = harness({ sim: { generator: { variants: 2 } }, config: { generator: { supports_n: false } } });
    const response = await postChat(app, chatBody({ seed: 10, verdict: { n: 4 } }));
    const body = await response.json();
    expect(body.verdict.judge.calls).toBe(2);
    expect(sim.count("judge")).toBe(2);
  });
});
