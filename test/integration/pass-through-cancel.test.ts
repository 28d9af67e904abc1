// A pass-through answer whose body is dropped must end the upstream call behind it at once, even while the client's
// signal stays alive (a response nobody reads, a runtime that gives no request signal): otherwise the upstream goes on
// generating tokens for no one, and its connection stays open.
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createNodeExchange } from "../../src/adapters/node-exchange";
import { exchangeOverFetch, type Exchange } from "../../src/exchange";
import { passThrough, type PassThroughTarget } from "../../src/passthrough";
import type { BoundedExchange } from "../../src/retry-exchange";

let closed: () => void = () => undefined;
let contentType = "text/event-stream";
// The first event, then nothing more until the connection closes: a quiet upstream.
const upstream = createServer((_req, res: ServerResponse) => {
  res.writeHead(200, { "content-type": contentType });
  res.write(contentType === "text/event-stream" ? 'data: {"first":true}\n\n' : "first words ");
  res.on("close", () => closed());
});
let base = "";

beforeAll(async () => {
  await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1`;
});
afterAll(() => {
  upstream.closeAllConnections();
  upstream.close();
});

// Bounded for the types only: these calls end long before any limit would matter.
const through = (exchange: Exchange): PassThroughTarget => ({ baseURL: base, exchange: exchange as BoundedExchange });
const exchanges = { "the Node exchange": createNodeExchange(), "the global fetch": exchangeOverFetch(globalThis.fetch.bind(globalThis)) };

async function answer(target: PassThroughTarget): Promise<Response> {
  // A signal that is never aborted: only the body's cancel can end the call.
  const request = new Request("http://verdict.test/v1/chat/completions", { method: "POST", body: "{}", headers: { "content-type": "application/json" } });
  return passThrough(target, request, "/chat/completions");
}

/** Resolves when the upstream sees its connection close; fails the test if that takes longer than `ms`. */
function upstreamClosesWithin(ms: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const late = setTimeout(() => reject(new Error(`the upstream was still open after ${ms} ms`)), ms);
    closed = () => (clearTimeout(late), resolve());
  });
}

describe.each(Object.entries(exchanges))("a dropped pass-through body, with %s", (_name, exchange) => {
  for (const type of ["text/event-stream", "text/plain"]) {
    it(`ends the upstream's ${type} stream when cancelled before its first read`, async () => {
      contentType = type;
      const response = await answer(through(exchange));
      const ended = upstreamClosesWithin(1_000);
      await response.body!.cancel();
      await ended;
    });

    it(`ends the upstream's ${type} stream when cancelled while a read waits on it`, async () => {
      contentType = type;
      const reader = (await answer(through(exchange))).body!.getReader();
      expect((await reader.read()).done).toBe(false); // the first event
      const waiting = reader.read(); // the upstream sends nothing more
      await new Promise((resolve) => setTimeout(resolve, 50)); // the read is now waiting on the upstream itself
      const ended = upstreamClosesWithin(1_000);
      const cancelled = reader.cancel();
      await ended;
      await cancelled;
      expect((await waiting).done).toBe(true);
    });
  }
});

describe.each(Object.entries(exchanges))("a pass-through stream that goes quiet, with %s", (_name, exchange) => {
  it("is ended after generator.timeout_ms of silence, with an error event, and its upstream call closed", async () => {
    contentType = "text/event-stream";
    const started = Date.now();
    const response = await answer({ ...through(exchange), streamIdleMs: 150 });
    const ended = upstreamClosesWithin(2_000);
    const text = await response.text();
    await ended;
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    const [first, error] = text.split("\n\n").filter((event) => event !== "");
    expect(first).toBe('data: {"first":true}');
    expect(JSON.parse(error!.slice("data: ".length)).error).toMatchObject({ code: "upstream_stream_timeout", message: expect.stringMatching(/sent nothing for 150 ms/) });
  });
});
