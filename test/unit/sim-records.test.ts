// The simulator keeps a record of every call for tests; a long run (`verdict sim`, `npm start` with no upstream, the
// benchmarks) turns that off so that its memory does not grow with every call, and its counts still hold.
import { describe, expect, it } from "vitest";
import { chatBody } from "../helpers";
import { createSimulator } from "../sim/server";

const post = (sim: ReturnType<typeof createSimulator>, path: string, body: unknown) =>
  sim.app.request(path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

describe("simulator records", () => {
  it("keeps none with record_requests off, on either route, and still counts the calls", async () => {
    const sim = createSimulator({ record_requests: false });
    expect((await post(sim, "/v1/chat/completions", chatBody())).status).toBe(200);
    expect((await post(sim, "/v1/responses", { model: "sim-generator", input: "Why is the sky blue?" })).status).toBe(200);
    expect(sim.requests).toHaveLength(0);
    expect(await (await sim.app.request("/sim/stats")).json()).toMatchObject({ generator: 2, judge: 0 });
  });

  it("keeps every call by default", async () => {
    const sim = createSimulator();
    await post(sim, "/v1/chat/completions", chatBody());
    await post(sim, "/v1/responses", { model: "sim-generator", input: "Why is the sky blue?" });
    expect(sim.requests.map((r) => r.role)).toEqual(["generator", "generator"]);
    expect(sim.count("generator")).toBe(2);
  });
});
