// x-request-id: the client's (when well-formed) or a new one, echoed to the client and sent on every upstream call.
import { describe, expect, it } from "vitest";
import { createApp } from "../../src/app";
import { chatBody, fetchInto, harness, postChat, testConfig } from "../helpers";
import { createSimulator } from "../sim/server";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe("x-request-id", () => {
  it("keeps a well-formed client id, echoes it, and sends it on every generator and judge call", async () => {
    const { app, sim } = harness({ config: { generator: { supports_n: false } } });
    const response = await postChat(app, chatBody({ verdict: { n: 3 } }), { "x-request-id": "client-Req_42=" });
    expect(response.status).toBe(200);
    expect(response.headers.get("x-request-id")).toBe("client-Req_42=");
    expect(sim.count("generator")).toBe(3);
    expect(sim.count("judge")).toBeGreaterThanOrEqual(4);
    expect(sim.requests.map((r) => r.headers["x-request-id"])).toEqual(sim.requests.map(() => "client-Req_42="));
  });

  it.each([
    ["too long", "a".repeat(129)],
    ["with spaces", "id with spaces"],
    ["with header-unsafe characters", "id;drop\ttable"],
    ["with non-ASCII letters", "idé"],
  ])("replaces an id %s with a generated one, used everywhere", async (_, given) => {
    const { app, sim } = harness();
    const response = await postChat(app, chatBody({ verdict: { n: 2 } }), { "x-request-id": given });
    const id = response.headers.get("x-request-id")!;
    expect(id).toMatch(UUID);
    expect(sim.requests.length).toBeGreaterThan(1);
    expect(sim.requests.every((r) => r.headers["x-request-id"] === id)).toBe(true);
  });

  it("accepts the longest allowed id (128 characters)", async () => {
    const { app } = harness();
    const id = "b".repeat(128);
    const response = await postChat(app, chatBody({ verdict: { n: 1 } }), { "x-request-id": id });
    expect(response.headers.get("x-request-id")).toBe(id);
  });

  it("is generated and sent upstream on a pass-through, and wins over the upstream's own id", async () => {
    const sim = createSimulator();
    const upstreamWithId: typeof fetch = async (input, init) => {
      const response = await fetchInto(sim.app)(input, init);
      const headers = new Headers(response.headers);
      headers.set("x-request-id", "req_upstream_own");
      return new Response(response.body, { status: response.status, headers });
    };
    const app = createApp({ config: testConfig(), fetch: upstreamWithId });
    const response = await postChat(app, chatBody({ verdict: { n: 1 } }));
    const id = response.headers.get("x-request-id")!;
    expect(id).toMatch(UUID);
    expect(sim.requests.at(-1)!.headers["x-request-id"]).toBe(id);
    const models = await app.request("/v1/models", { headers: { "x-request-id": "list-1" } });
    expect(models.headers.get("x-request-id")).toBe("list-1");
  });

  it("is on error responses too", async () => {
    const { app } = harness();
    const response = await postChat(app, "{not json", { "x-request-id": "broken-1" });
    expect(response.status).toBe(400);
    expect(response.headers.get("x-request-id")).toBe("broken-1");
  });
});

describe("trace context without tracing", () => {
  it("passes the client's traceparent and tracestate on to every upstream call unchanged", async () => {
    const { app, sim } = harness();
    const traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    await postChat(app, chatBody({ verdict: { n: 2 } }), { traceparent, tracestate: "vendor=1" });
    expect(sim.requests.length).toBeGreaterThan(1);
    expect(sim.requests.every((r) => r.headers.traceparent === traceparent && r.headers.tracestate === "vendor=1")).toBe(true);
  });
});
