// W3C trace context: a client's tracestate belongs to the client's trace. When verdict starts a trace of its own (no
// traceparent, or one it cannot read) the tracestate is discarded, as the spec requires; it goes upstream only with
// the trace it was sent with.
import { getRequestListener } from "@hono/node-server";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { createNodeTransport } from "../../src/adapters/node-fetch";
import { chatCompletionsLane } from "../../src/adapters/node-chat-lane";
import { createApp, createAppContext } from "../../src/app";
import { createTracer } from "../../src/trace/tracer";
import { startSimulator } from "../sim/start";
import { chatBody, harness, postChat, testConfig } from "../helpers";

const CLIENT_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const TRACESTATE = "vendor=opaque-client-value";

const tracing = () => createTracer({ sink: { push: () => undefined, flush: async () => undefined }, clock: Date.now, sampleRatio: 1 });

function tracedHarness() {
  return harness({ deps: { tracer: tracing() } });
}

describe("tracestate with tracing on", () => {
  it.each([
    ["no traceparent", {}],
    ["a traceparent verdict cannot read", { traceparent: `00-${CLIENT_TRACE}-0000000000000000-01` }],
  ])("is not sent upstream with verdict's own new trace when the client sent %s", async (_, parent: Record<string, string>) => {
    for (const n of [1, 2]) {
      const { app, sim } = tracedHarness();
      const response = await postChat(app, chatBody({ verdict: { n } }), { ...parent, tracestate: TRACESTATE });
      expect(response.status).toBe(200);
      expect(sim.requests.length).toBeGreaterThan(0);
      for (const call of sim.requests) {
        expect(call.headers.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
        expect(call.headers.traceparent).not.toContain(CLIENT_TRACE);
        expect(call.headers).not.toHaveProperty("tracestate");
      }
    }
  });

  it("goes upstream with the client's own trace", async () => {
    for (const n of [1, 2]) {
      const { app, sim } = tracedHarness();
      const traceparent = `00-${CLIENT_TRACE}-00f067aa0ba902b7-01`;
      expect((await postChat(app, chatBody({ verdict: { n } }), { traceparent, tracestate: TRACESTATE })).status).toBe(200);
      for (const call of sim.requests) {
        expect(call.headers.traceparent).toContain(CLIENT_TRACE);
        expect(call.headers.tracestate).toBe(TRACESTATE);
      }
    }
  });
});

describe("tracestate on the Node chat lane, over sockets on 127.0.0.1", () => {
  it.each([1, 4])("is discarded with a new trace and kept with the client's (n = %i)", async (n) => {
    const upstream = await startSimulator();
    const deps = { config: testConfig({ generator: { base_url: upstream.url } }), ...createNodeTransport(), tracer: tracing() };
    const ctx = createAppContext(deps);
    const server = createServer(chatCompletionsLane(ctx, getRequestListener(createApp(deps, ctx).fetch)));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/chat/completions`;
    /** The tracestate each upstream call of one request carried. */
    const sent = async (headers: Record<string, string>) => {
      const seen = upstream.sim.requests.length;
      const body = JSON.stringify(chatBody({ verdict: { n } }));
      const response = await fetch(url, { method: "POST", headers: { "content-type": "application/json", tracestate: TRACESTATE, ...headers }, body });
      expect(response.status).toBe(200);
      return upstream.sim.requests.slice(seen).map((call) => call.headers.tracestate);
    };
    try {
      const calls = n === 1 ? 1 : 4; // a draw with n, then judge calls
      const fresh = await sent({});
      expect(fresh.length).toBeGreaterThanOrEqual(calls);
      expect(fresh.every((value) => value === undefined)).toBe(true);
      const continued = await sent({ traceparent: `00-${CLIENT_TRACE}-00f067aa0ba902b7-01` });
      expect(continued.length).toBeGreaterThanOrEqual(calls);
      expect(continued.every((value) => value === TRACESTATE)).toBe(true);
    } finally {
      server.closeAllConnections();
      await new Promise((done) => server.close(done));
      await upstream.close();
    }
  });
});
