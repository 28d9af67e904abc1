// An upstream that echoes a key in a response header, on an answer of any status: the header reaches no client with
// the key in it, through the exchange (every lean call and the pass-through) and through the SDK's fetch alike.
import { describe, expect, it } from "vitest";
import type { Exchange, ExchangeReply } from "../../src/exchange";
import { redactingExchange, redactingFetch } from "../../src/redact";

const KEY = "gen-SECRET-key-111111";
const echoed = { "content-type": "application/json", "x-debug-auth": `Bearer ${KEY}`, "x-upstream-key": `key=${KEY}`, "x-request-id": "req_123" };

describe("response headers, redacted", () => {
  it.each([200, 401])("scrubs a key echoed in a header of a %i reply through the exchange, and leaves the rest as they were", async (status) => {
    const exchange: Exchange = async () => ({ status, headers: { ...echoed }, body: new TextEncoder().encode("{}") }) satisfies ExchangeReply;
    const reply = await redactingExchange(exchange, [KEY])({ url: "http://upstream.test/v1/chat/completions", method: "POST", headers: {}, body: "{}" });
    expect(JSON.stringify(reply.headers)).not.toContain(KEY);
    expect(reply.headers["x-debug-auth"]).toBe("Bearer [redacted]");
    expect(reply.headers["x-upstream-key"]).toBe("key=[redacted]");
    expect(reply.headers["x-request-id"]).toBe("req_123");
  });

  it("leaves a WWW-Authenticate challenge as it came: its auth parameters are no credential", async () => {
    const challenge = 'Bearer realm="OpenAI API", error="invalid_token", error_description="The access token expired"';
    const exchange: Exchange = async () => ({ status: 401, headers: { "www-authenticate": challenge }, body: new TextEncoder().encode("{}") });
    const reply = await redactingExchange(exchange, [KEY])({ url: "http://upstream.test/v1/models", method: "GET", headers: {} });
    expect(reply.headers["www-authenticate"]).toBe(challenge);
  });

  it("hands on the same reply when no header needs it", async () => {
    const clean: ExchangeReply = { status: 200, headers: { "content-type": "application/json", "x-request-id": "req_1" }, body: new Uint8Array() };
    const reply = await redactingExchange(async () => clean, [KEY])({ url: "http://upstream.test/v1/models", method: "GET", headers: {} });
    expect(reply).toBe(clean);
  });

  it.each([200, 500])("scrubs a key echoed in a header of a %i response through the fetch", async (status) => {
    const fetch = (async () => new Response("{}", { status, headers: echoed })) as typeof globalThis.fetch;
    const response = await redactingFetch(fetch, [KEY])("http://upstream.test/v1/models");
    expect(response.status).toBe(status);
    expect(response.headers.get("x-debug-auth")).toBe("Bearer [redacted]");
    expect([...response.headers].join()).not.toContain(KEY);
    expect(await response.text()).toBe("{}");
  });
});

describe("whole answers, redacted", () => {
  it("takes a configured key out of a 200 answer that repeats it, and leaves prose that merely says bearer or basic", async () => {
    const text = JSON.stringify({ choices: [{ message: { content: `cannot decide; my key is ${KEY}. Basic idea: the bearer of news.` } }] });
    const exchange: Exchange = async () => ({ status: 200, headers: { "content-type": "application/json", "content-length": "999" }, body: new TextEncoder().encode(text) });
    const reply = await redactingExchange(exchange, [KEY])({ url: "http://judge.test/v1/chat/completions", method: "POST", headers: {}, body: "{}" });
    const answer = new TextDecoder().decode(reply.body as Uint8Array);
    expect(answer).not.toContain(KEY);
    expect(JSON.parse(answer).choices[0].message.content).toBe("cannot decide; my key is [redacted]. Basic idea: the bearer of news.");
    expect(reply.headers).not.toHaveProperty("content-length");
  });

  it("hands on a 200 answer without a key as it came", async () => {
    const body = new TextEncoder().encode('{"choices":[]}');
    const reply = await redactingExchange(async () => ({ status: 200, headers: {}, body }), [KEY])({ url: "http://judge.test/v1/chat/completions", method: "POST", headers: {} });
    expect(reply.body).toBe(body);
  });
});
