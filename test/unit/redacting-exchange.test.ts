// A failed upstream answer reaches the client and the logs scrubbed of the keys the request carried, however long the
// error page and wherever in it the key stands: also across the points where it is cut.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createNodeExchange } from "../../src/adapters/node-exchange";
import { exchangeOverFetch, FAILED_BODY_LIMIT, replyText, type Exchange } from "../../src/exchange";
import { redactingExchange } from "../../src/redact";

const SECRET = "gen-key-0123456789abcdef";
let page = "";
let server: Server;
let base = "";

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    res.writeHead(401, { "content-type": "text/plain" });
    res.end(page);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server.closeAllConnections();
  server.close();
});

const exchanges: Record<string, Exchange> = {
  "the Node exchange": createNodeExchange(),
  "an exchange over fetch": exchangeOverFetch(globalThis.fetch.bind(globalThis)),
};

describe.each(Object.entries(exchanges))("a failed answer through %s", (_name, exchange) => {
  const call = () => redactingExchange(exchange, [SECRET])({ url: `${base}/v1/x`, method: "POST", headers: {}, body: "{}", timeoutMs: 5_000 });

  it.each([
    ["across the 64 KiB the client is shown", 64 * 1024 - 12],
    ["across the exchange's own cut", FAILED_BODY_LIMIT - 12],
  ])("leaves no part of a key that stands %s", async (_where, at) => {
    page = `${"x".repeat(at)}${SECRET} is not a valid key`;
    const text = await replyText(await call());
    expect(text).not.toContain(SECRET.slice(0, 8));
    expect(text.length).toBeLessThanOrEqual(64 * 1024);
  });

  it("keeps a short error whole, the key replaced", async () => {
    page = `key ${SECRET} is not valid`;
    expect(await replyText(await call())).toBe("key [redacted] is not valid");
  });
});
