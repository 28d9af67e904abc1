// Virtual models: a configured name maps to an upstream model with its own n and strategy, and is listed.
import { readFileSync } from "node:fs";
import OpenAI from "openai";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config";
import { chatBody, harness, postChat } from "../helpers";

const models = {
  "sim-best3": { model: "sim-generator", n: 3 },
  "sim-plain": { model: "sim-generator", n: 1 },
};

describe("virtual models and options resolution", () => {
  it("lists upstream and virtual models", async () => {
    const { client } = harness({ config: { models } });
    const ids = [];
    for await (const model of client.models.list()) ids.push(model.id);
    expect(ids).toEqual(["sim-generator", "sim-judge", "sim-best3", "sim-plain"]);
  });

  it("still lists virtual models when the generator is down, and says so", async () => {
    const { app } = harness({ config: { models }, deps: { fetch: async () => { throw new TypeError("connect ECONNREFUSED"); } } });
    const response = await app.request("/v1/models");
    expect(response.status).toBe(200);
    expect(response.headers.get("x-verdict-degraded")).toBe("upstream_models_unavailable");
    expect((await response.json()).data.map((m: { id: string }) => m.id)).toEqual(["sim-best3", "sim-plain"]);
  });

  it("gives the generator's 401 for a key it refuses, instead of an empty list (the SDK raises it)", async () => {
    const refusing = async () => Response.json({ error: { message: "Incorrect API key provided", type: "invalid_request_error", code: "invalid_api_key" } }, { status: 401 });
    const { client } = harness({ config: { models }, deps: { fetch: refusing } });
    const failed = await client.models.list().catch((err: unknown) => err);
    expect(failed).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((failed as InstanceType<typeof OpenAI.APIError>).code).toBe("invalid_api_key");
  });

  it("answers a HEAD of the list with the generator's headers, not a made-up outage", async () => {
    const { app } = harness({ config: { models } });
    const response = await app.request("/v1/models", { method: "HEAD" });
    expect(response.status).toBe(200);
    expect(response.headers.get("x-verdict-degraded")).toBeNull();
  });

  it("maps a virtual model to its upstream model and n", async () => {
    const { app, sim } = harness({ config: { models } });
    const response = await postChat(app, chatBody({ model: "sim-best3" }));
    const body = await response.json();
    expect(body.verdict.n_candidates).toBe(3);
    expect(sim.requests[0]!.body).toMatchObject({ model: "sim-generator", n: 3 });
  });

  it("lets headers override the virtual model and the body override headers", async () => {
    const { app, sim } = harness({ config: { models } });
    const byHeader = await (await postChat(app, chatBody({ model: "sim-best3" }), { "x-verdict-n": "2" })).json();
    expect(byHeader.verdict.n_candidates).toBe(2);
    const byBody = await (await postChat(app, chatBody({ model: "sim-best3", verdict: { n: 5 } }), { "x-verdict-n": "2" })).json();
    expect(byBody.verdict.n_candidates).toBe(5);
    const plain = await postChat(app, chatBody({ model: "sim-plain" }));
    expect(await plain.json()).not.toHaveProperty("verdict");
    expect(sim.requests.at(-1)!.body.model).toBe("sim-generator");
  });

  it("ships an example config that loads", () => {
    const config = loadConfig({}, readFileSync("verdict.config.example.json", "utf8"));
    expect(Object.keys(config.models).length).toBeGreaterThan(0);
  });

  it("caps the deployment's default min_candidates at what a request draws, and refuses only one its client set", async () => {
    const { app } = harness({ config: { defaults: { min_candidates: 2 }, models: { "sim-one": { model: "sim-generator", n: 1 } } } });
    expect((await postChat(app, chatBody({ model: "sim-one" }))).status).toBe(200);
    expect((await postChat(app, chatBody({ verdict: { n: 1 } }))).status).toBe(200);
    const asked = await postChat(app, chatBody({ verdict: { n: 1, min_candidates: 2 } }));
    expect(asked.status).toBe(400);
    expect((await asked.json()).error.param).toBe("verdict.min_candidates");
  });

  it("caps a virtual model's min_candidates the same way when its client asks for fewer candidates", async () => {
    const { app } = harness({ config: { models: { strict4: { model: "sim-generator", n: 4, min_candidates: 3 } } } });
    expect((await postChat(app, chatBody({ model: "strict4", verdict: { n: 2 } }))).status).toBe(200);
    expect((await postChat(app, chatBody({ model: "strict4" }), { "x-verdict-n": "1" })).status).toBe(200);
  });

  it("refuses a request too large for the deployment's cap on judge calls by naming the n its client can change", async () => {
    const { app } = harness({ config: { defaults: { n: 4, max_judge_calls: 6 } } });
    expect((await postChat(app, chatBody({ verdict: { n: 4 } }))).status).toBe(200);
    for (const [body, param] of [[chatBody({ verdict: { n: 5 } }), "verdict.n"], [chatBody({ n: 5 }), "n"]] as const) {
      const refused = await postChat(app, body);
      expect(refused.status).toBe(400);
      const { error } = await refused.json();
      expect(error.param).toBe(param);
      expect(error.message).toMatch(/this deployment allows 6 judge calls per request, and a knockout of 5 candidates needs 8/);
    }
    // A cap the request set itself is named as before.
    const own = await postChat(app, chatBody({ verdict: { n: 4, max_judge_calls: 4 } }));
    expect((await own.json()).error.param).toBe("verdict.max_judge_calls");
    // A round-robin the client named, with no n of its own: that choice is what it can change.
    const roundRobin = await (await postChat(app, chatBody({ verdict: { tournament: "round_robin" } }))).json();
    expect(roundRobin.error).toMatchObject({ param: "verdict.tournament", message: expect.stringMatching(/needs 12: ask for fewer \(verdict\.n\) or a knockout/) });
  });

  it("lets a request lower the deployment's cap on judge calls, never raise it, and never applies it to a pass-through", async () => {
    const models = { capped: { model: "sim-generator", n: 4, max_judge_calls: 6 } };
    const { app, sim } = harness({ config: { defaults: { max_judge_calls: 6 }, models } });
    for (const body of [chatBody({ verdict: { n: 16, tournament: "round_robin", max_judge_calls: 240 } }), chatBody({ model: "capped", verdict: { n: 8, max_judge_calls: 100 } })]) {
      const refused = await postChat(app, body);
      expect(refused.status).toBe(400);
      expect((await refused.json()).error).toMatchObject({ param: "verdict.max_judge_calls", message: expect.stringMatching(/at most 6/) });
    }
    expect(sim.requests).toHaveLength(0);
    expect((await postChat(app, chatBody({ verdict: { n: 3, max_judge_calls: 4 } }))).status).toBe(200);
    // n 1 makes no judge call, however many choices the client asks the generator for.
    for (const verdict of [{ n: 1 }, { n: 1, strategy: "pairwise" }]) {
      const passed = await postChat(app, chatBody({ n: 8, verdict }));
      expect(passed.status).toBe(200);
      expect((await passed.json()).choices).toHaveLength(8);
    }
  });
});

describe("retrieving one model", () => {
  it("answers for a virtual model itself, and passes any other id to the generator", async () => {
    const { client } = harness({ config: { models: { ...models, "team/best4": { model: "sim-generator", n: 4 } } } });
    expect(await client.models.retrieve("sim-best3")).toMatchObject({ id: "sim-best3", object: "model", owned_by: "verdict" });
    expect(await client.models.retrieve("team/best4")).toMatchObject({ id: "team/best4", object: "model" });
    // Asked of the generator: the simulator's own 404 for a route it lacks comes back.
    await expect(client.models.retrieve("no-such-model")).rejects.toMatchObject({ status: 404, code: "unknown_url" });
  });

  it("passes an id with malformed %-escapes to the generator rather than failing with a 500", async () => {
    const { app } = harness({ config: { models } });
    const response = await app.request("/v1/models/%E0%A4%A");
    expect(response.status).toBe(404);
    expect((await response.json()).error.code).toBe("unknown_url");
  });

  it("lists an upstream model named like an object's built-in property", async () => {
    const listing = { object: "list", data: [{ id: "constructor", object: "model" }, { id: "toString", object: "model" }] };
    const fetch: typeof globalThis.fetch = async () => Response.json(listing);
    const { app } = harness({ config: { models }, deps: { fetch } });
    const ids = (await (await app.request("/v1/models")).json()).data.map((m: { id: string }) => m.id);
    expect(ids).toEqual(["constructor", "toString", "sim-best3", "sim-plain"]);
  });
});
