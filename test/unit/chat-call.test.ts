// The lean chat call (judgments, candidate draws) fails with the openai SDK's own error classes and sends what the SDK
// would of the account (organization, project), so retries, client errors and billing see no change.
import OpenAI, { type APIError } from "openai";
import { describe, expect, it } from "vitest";
import { createChatCall } from "../../src/chat-call";
import { exchangeOverFetch } from "../../src/exchange";
import { createUpstream, type FetchLike } from "../../src/upstream";
import { bodyText } from "../helpers";

const completion = { id: "c1", object: "chat.completion", created: 1, model: "j", choices: [{ index: 0, message: { role: "assistant", content: "A" }, finish_reason: "stop" }] };

function callWith(fetch: FetchLike, timeoutMs = 1_000) {
  return createChatCall({ baseURL: "http://judge.test/v1", authorization: "Bearer sk-judge-key", timeoutMs, exchange: exchangeOverFetch(fetch) });
}

const answering = (status: number, body: string, headers: Record<string, string> = { "content-type": "application/json" }): FetchLike =>
  (async () => new Response(body, { status, headers })) as FetchLike;

describe("chat call", () => {
  it("posts the body as JSON with the key and the caller's headers, and returns the completion", async () => {
    const seen: { url: string; init: RequestInit }[] = [];
    const fetch = (async (url: string, init: RequestInit) => (seen.push({ url, init }), new Response(JSON.stringify(completion)))) as FetchLike;
    const answer = await callWith(fetch)({ model: "j", messages: [] }, undefined, { "x-request-id": "r1" });
    expect(answer).toEqual(completion);
    expect(seen[0]!.url).toBe("http://judge.test/v1/chat/completions");
    expect(seen[0]!.init.method).toBe("POST");
    expect(bodyText(seen[0]!.init)).toBe('{"model":"j","messages":[]}');
    expect(seen[0]!.init.headers).toMatchObject({ authorization: "Bearer sk-judge-key", "content-type": "application/json", "x-request-id": "r1" });
  });

  it("sends the organization and project the SDK client sends, as the SDK's own calls do", async () => {
    const sent: Headers[] = [];
    const fetch = (async (_url: string, init: RequestInit) => (sent.push(new Headers(init.headers)), new Response(JSON.stringify(completion), { headers: { "content-type": "application/json" } }))) as FetchLike;
    process.env.OPENAI_ORG_ID = "org-verdict-test";
    process.env.OPENAI_PROJECT_ID = "proj-verdict-test";
    let upstream: ReturnType<typeof createUpstream>;
    try {
      upstream = createUpstream("generator", { base_url: "http://gen.test/v1", api_key: "sk-gen-key-1", timeout_ms: 1_000, max_retries: 0, concurrency: 1, max_queued: 1 }, fetch);
    } finally {
      delete process.env.OPENAI_ORG_ID;
      delete process.env.OPENAI_PROJECT_ID;
    }
    await upstream.chat({ model: "g", messages: [] }, undefined);
    await upstream.client.chat.completions.create({ model: "g", messages: [] });
    for (const headers of sent) {
      expect(headers.get("openai-organization")).toBe("org-verdict-test");
      expect(headers.get("openai-project")).toBe("proj-verdict-test");
      expect(headers.get("authorization")).toBe("Bearer sk-gen-key-1");
    }
    expect(sent[0]!.get("user-agent")).toBe("verdict");
  });

  it("turns an error status into the SDK's error for it, with the body's error and the headers", async () => {
    const refused = await callWith(answering(400, '{"error":{"message":"response_format unsupported","param":"response_format"}}'))({}, undefined).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(OpenAI.BadRequestError);
    expect((refused as APIError).status).toBe(400);
    expect((refused as APIError).error).toMatchObject({ param: "response_format" });
    const limited = await callWith(answering(429, "slow down", { "retry-after": "2" }))({}, undefined).catch((e: unknown) => e);
    expect(limited).toBeInstanceOf(OpenAI.RateLimitError);
    expect((limited as APIError).headers?.get("retry-after")).toBe("2");
  });

  it("reports a connection failure, a timeout and the caller's abort as the SDK does", async () => {
    const refused = (async () => {
      throw new TypeError("fetch failed");
    }) as FetchLike;
    await expect(callWith(refused)({}, undefined)).rejects.toBeInstanceOf(OpenAI.APIConnectionError);
    const hanging = ((_url: string, init: RequestInit) =>
      new Promise((_resolve, reject) => init.signal!.addEventListener("abort", () => reject(init.signal!.reason)))) as FetchLike;
    await expect(callWith(hanging, 20)({}, undefined)).rejects.toBeInstanceOf(OpenAI.APIConnectionTimeoutError);
    const controller = new AbortController();
    const pending = callWith(hanging)({}, controller.signal);
    controller.abort();
    await expect(pending).rejects.toBeInstanceOf(OpenAI.APIUserAbortError);
  });

  it("fails with a SyntaxError on a 200 that is not JSON (retried, then reported as a bad answer)", async () => {
    await expect(callWith(answering(200, "<html>"))({}, undefined)).rejects.toBeInstanceOf(SyntaxError);
  });
});
