// n = 1 and strategy "none" are plain pass-through: the upstream's bytes come back unchanged.
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { passThrough } from "../../src/passthrough";
import { exchangeOverFetch } from "../../src/exchange";
import type { BoundedExchange } from "../../src/retry-exchange";
import { chatBody, fetchInto, harness, postChat, SIM_URL } from "../helpers";

describe("pass-through", () => {
  it("returns the upstream body byte for byte when verdict.n is 1", async () => {
    const { app, sim } = harness();
    const direct = await fetchInto(sim.app)(`${SIM_URL}/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(chatBody({ seed: 7 })),
    });
    const expected = await direct.text();
    const proxied = await postChat(app, chatBody({ seed: 7, verdict: { n: 1 } }));
    expect(proxied.status).toBe(200);
    // The simulator numbers its completions, so compare everything but the per-call id and timestamp.
    const normalise = (text: string) => text.replace(/chatcmpl-sim-\d+/, "ID").replace(/"created":\d+/, "");
    expect(normalise(await proxied.text())).toBe(normalise(expected));
    const forwarded = sim.requests.at(-1)!.body;
    expect(forwarded).not.toHaveProperty("verdict");
    expect(forwarded.seed).toBe(7);
  });

  it("sends an untouched body upstream unchanged and strips only verdict's own field otherwise", async () => {
    const { app, sim } = harness({ config: { defaults: { n: 1 } } });
    const raw = '{"model":"sim-generator","messages":[{"role":"user","content":"hi"}],"temperature":0.3,"x_unknown":{"kept":true}}';
    const response = await postChat(app, raw);
    expect(response.status).toBe(200);
    expect(sim.requests.at(-1)!.body).toEqual(JSON.parse(raw));
  });

  it("takes a chat path with a trailing slash as the chat route: reranked, and verdict never sent upstream", async () => {
    const { app, sim } = harness();
    const response = await app.request("/v1/chat/completions/", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(chatBody({ verdict: { n: 2 } })) });
    expect(response.status).toBe(200);
    expect((await response.json()).verdict.n_candidates).toBe(2);
    expect(sim.requests.some((r) => "verdict" in r.body)).toBe(false);
  });

  it("treats strategy none as pass-through and pipes a streamed answer as SSE", async () => {
    const { app, sim } = harness();
    const response = await postChat(app, chatBody({ stream: true }), { "x-verdict-strategy": "none" });
    expect(response.headers.get("content-type")).toMatch(/text\/event-stream/);
    const text = await response.text();
    expect(text).toMatch(/chat\.completion\.chunk/);
    expect(text.trimEnd().endsWith("data: [DONE]")).toBe(true);
    expect(sim.count("judge")).toBe(0);
  });

  it("passes other /v1 routes through with method and body", async () => {
    const { app } = harness();
    const response = await app.request("/v1/chat/completions", {
      method: "POST",
      headers: { "content-type": "application/json", "x-verdict-n": "1" },
      body: JSON.stringify(chatBody()),
    });
    expect(response.status).toBe(200);
    const unknown = await app.request("/v1/embeddings", { method: "POST", body: "{}" });
    // The simulator has no embeddings route: its OpenAI-shaped 404 comes back as is.
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({
      error: { message: "the simulator has no route for POST /v1/embeddings", type: "invalid_request_error", param: null, code: "unknown_url" },
    });
  });
});

describe("expect and interim answers", () => {
  it("never sends a client's Expect upstream, and answers an upstream's interim status as a 502, not a 500", async () => {
    const seen: (string | null)[] = [];
    // As a runtime's fetch may (workerd's): an upstream asked to expect 100-continue hands back its 100 as the answer.
    const fetch: typeof globalThis.fetch = async (_input, init) => {
      const expect = new Headers(init?.headers).get("expect");
      seen.push(expect);
      return expect !== null ? ({ status: 100, headers: new Headers(), body: null } as unknown as Response) : Response.json({ object: "list", data: [] });
    };
    const { app } = harness({ deps: { fetch } });
    const response = await app.request("/v1/embeddings", { method: "POST", headers: { "content-type": "application/json", expect: "100-continue" }, body: "{}" });
    expect(response.status).toBe(200);
    expect(seen).toEqual([null]);
    const interim = async () => ({ status: 103, headers: new Headers(), body: null }) as unknown as Response;
    const early = await harness({ deps: { fetch: interim } }).app.request("/v1/embeddings", { method: "POST", body: "{}" });
    expect(early.status).toBe(502);
    expect((await early.json()).error.message).toMatch(/answered 103, which is not an answer/);
  });
});

describe("upstream credentials", () => {
  it("sends the configured generator key upstream, never the client's", async () => {
    const { app, sim } = harness({ config: { generator: { api_key: "sk-upstream" } } });
    await postChat(app, chatBody({ verdict: { n: 1 } }), { authorization: "Bearer sk-client" });
    await postChat(app, chatBody({ verdict: { n: 2 } }), { authorization: "Bearer sk-client" });
    const seen = sim.requests.map((r) => r.headers.authorization);
    expect(seen.length).toBeGreaterThan(2);
    expect(seen.every((h) => h === "Bearer sk-upstream")).toBe(true);
  });

  it("sends no credential the client meant for someone else (api-key, x-api-key, cookie) upstream, on any route", async () => {
    const sent: Headers[] = [];
    const fetch: typeof globalThis.fetch = async (_input, init) => {
      sent.push(new Headers(init?.headers));
      return Response.json({ object: "list", data: [] });
    };
    const { app } = harness({ config: { generator: { api_key: "sk-upstream" } }, deps: { fetch } });
    const credentials = { "api-key": "sk-azure-style", "x-api-key": "sk-anthropic-style", cookie: "session=secret" };
    await postChat(app, chatBody({ verdict: { n: 1 } }), { ...credentials, "x-kept": "yes" });
    await app.request("/v1/embeddings", { method: "POST", headers: { "content-type": "application/json", ...credentials, "x-kept": "yes" }, body: "{}" });
    expect(sent.length).toBe(2);
    for (const headers of sent) {
      expect(headers.get("authorization")).toBe("Bearer sk-upstream");
      for (const name of Object.keys(credentials)) expect(headers.get(name)).toBeNull();
      expect(headers.get("x-kept")).toBe("yes");
    }
  });

  it("hands the client no key that the upstream echoes in a header or in its answer", async () => {
    const key = "gen-SECRET-key-111111";
    const fetch: typeof globalThis.fetch = async (_input, init) => {
      const sent = new Headers(init?.headers).get("authorization") ?? "";
      const answer = { id: "c", object: "chat.completion", created: 1, model: "m", choices: [{ index: 0, message: { role: "assistant", content: `my key is ${key}` }, finish_reason: "stop" }] };
      return new Response(JSON.stringify(answer), { headers: { "content-type": "application/json", "x-debug-auth": sent } });
    };
    const { app } = harness({ config: { generator: { api_key: key } }, deps: { fetch } });
    const response = await postChat(app, chatBody({ verdict: { n: 1 } }));
    expect(response.headers.get("x-debug-auth")).toBe("Bearer [redacted]");
    expect(await response.text()).toContain("my key is [redacted]");
  });

  it("keeps a download's length with a key configured, masking a key in it with as many bytes", async () => {
    const key = "gen-SECRET-key-111111";
    const download = (text: string) => {
      const bytes = new TextEncoder().encode(text);
      const cut = Math.floor(bytes.length / 2);
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(bytes.slice(0, cut));
          controller.enqueue(bytes.slice(cut));
          controller.close();
        },
      });
      return new Response(body, { headers: { "content-type": "application/octet-stream", "content-length": String(bytes.length) } });
    };
    let text = "";
    const fetch: typeof globalThis.fetch = async () => download(text);
    const { app } = harness({ config: { generator: { api_key: key } }, deps: { fetch } });
    for (const sent of ["line one\nline two\n".repeat(50), `{"note": "the key ${key} was in this file"}\n`.repeat(3)]) {
      text = sent;
      const response = await app.request("/v1/files/file-1/content");
      const received = await response.text();
      expect(response.headers.get("content-length")).toBe(String(Buffer.byteLength(sent)));
      expect(Buffer.byteLength(received)).toBe(Buffer.byteLength(sent));
      expect(received).not.toContain("SECRET");
      expect(received).toBe(sent.replaceAll(key, "[redacted]***********"));
    }
  });

  it("relays a GET download labelled JSON as it is, JSON or not, while a POST's answer that is not JSON is refused", async () => {
    const lines = '{"a": 1}\n{"a": 2}\n';
    const fetch: typeof globalThis.fetch = async () => new Response(lines, { headers: { "content-type": "application/json" } });
    const { app } = harness({ config: { generator: { max_retries: 0 } }, deps: { fetch } });
    const download = await app.request("/v1/files/file-1/content");
    expect(download.status).toBe(200);
    expect(await download.text()).toBe(lines);
    const posted = await app.request("/v1/embeddings", { method: "POST", headers: { "content-type": "application/json" }, body: '{"model":"m","input":"hi"}' });
    expect(posted.status).toBe(502);
    expect((await posted.json()).error.code).toBe("generator_bad_response");
  });

  it("scrubs a key shorter than six characters from an upstream's error wherever it stands as a word", async () => {
    const key = "local";
    const fetch: typeof globalThis.fetch = async () =>
      Response.json({ error: { message: `Incorrect API key provided: ${key}. See http://localhost/docs`, type: "invalid_request_error", code: "invalid_api_key" } }, { status: 401 });
    const { app } = harness({ config: { generator: { api_key: key } }, deps: { fetch } });
    for (const response of [await app.request("/v1/files"), await postChat(app, chatBody({ verdict: { n: 1 } })), await postChat(app, chatBody({ verdict: { n: 2 } }))]) {
      const text = await response.text();
      expect(text).toContain("Incorrect API key provided: [redacted]. See http://localhost/docs");
    }
  });

  it.each([200, 500])("hands the client no key in any of several Set-Cookie headers (status %i), and keeps each cookie", async (status) => {
    const key = "gen-SECRET-key-111111";
    const fetch: typeof globalThis.fetch = async () => {
      const headers = new Headers({ "content-type": "application/json" });
      headers.append("set-cookie", `k=${key}; Path=/`);
      headers.append("set-cookie", "z=1; Path=/");
      return new Response('{"ok":true}', { status, headers });
    };
    const { app } = harness({ config: { generator: { api_key: key } }, deps: { fetch } });
    const response = await app.request("/v1/files");
    expect(response.status).toBe(status);
    const cookies = response.headers.getSetCookie();
    expect(cookies).toEqual(["k=[redacted]; Path=/", "z=1; Path=/"]);
  });

  it("hands a streaming client no key that the upstream repeats, even one split between two chunks", async () => {
    const key = "gen-SECRET-key-111111";
    const events = [`data: {"choices":[{"index":0,"delta":{"content":"my key is gen-SEC`, `RET-key-111111"}}]}\n\n`, "data: [DONE]\n\n"];
    const fetch: typeof globalThis.fetch = async () => {
      let cancelled = false;
      const body = new ReadableStream<Uint8Array>({
        cancel: () => void (cancelled = true),
        start(controller) {
          for (const event of events) controller.enqueue(new TextEncoder().encode(event));
          controller.close();
        },
      });
      return new Response(body, { headers: { "content-type": "text/event-stream" } });
    };
    const { app } = harness({ config: { generator: { api_key: key } }, deps: { fetch } });
    const response = await postChat(app, chatBody({ stream: true, verdict: { n: 1 } }));
    expect(await response.text()).toBe(`data: {"choices":[{"index":0,"delta":{"content":"my key is [redacted]"}}]}\n\ndata: [DONE]\n\n`);
  });

  it("ends a relayed stream at [DONE], though the upstream holds its connection open", async () => {
    let cancelled = false;
    const fetch: typeof globalThis.fetch = async () =>
      new Response(
        new ReadableStream<Uint8Array>({
          cancel: () => void (cancelled = true),
          start(controller) {
            controller.enqueue(new TextEncoder().encode('data: {"choices":[{"index":0,"delta":{"content":"hi"}}]}\n\ndata: [DONE]\n\n'));
          },
        }),
        { headers: { "content-type": "text/event-stream" } },
      );
    const { app } = harness({ config: { generator: { timeout_ms: 3_000 } }, deps: { fetch } });
    const started = performance.now();
    const text = await (await postChat(app, chatBody({ stream: true, verdict: { n: 1 } }))).text();
    expect(text).toBe('data: {"choices":[{"index":0,"delta":{"content":"hi"}}]}\n\ndata: [DONE]\n\n');
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(cancelled).toBe(true);
  });

  it("sends no Authorization header when no key is configured", async () => {
    const { app, sim } = harness();
    await postChat(app, chatBody({ verdict: { n: 2 } }), { authorization: "Bearer sk-client" });
    expect(sim.requests.every((r) => r.headers.authorization === undefined)).toBe(true);
  });
});

describe("pass-through under the generator's queue and rate limit", () => {
  /** An upstream whose answers wait until released, counting the calls that reached it. */
  function heldUpstream() {
    const held: (() => void)[] = [];
    let calls = 0;
    const fetch: typeof globalThis.fetch = async () => {
      calls += 1;
      await new Promise<void>((release) => held.push(release));
      const answer = { id: "c", object: "chat.completion", created: 1, model: "m", choices: [{ index: 0, message: { role: "assistant", content: "ok" }, finish_reason: "stop" }] };
      return new Response(JSON.stringify(answer), { headers: { "content-type": "application/json" } });
    };
    return { fetch, release: () => held.splice(0).forEach((go) => go()), calls: () => calls };
  }

  it.each([
    ["a free queue", {}],
    ["a rate limit's queue", { interval_ms: 60_000, interval_cap: 100 }],
  ])("ends a pass-through still waiting in %s for a slot when its budget runs out: 504, never a late answer", async (_, limits) => {
    const upstream = heldUpstream();
    const config = { generator: { concurrency: 1, ...limits }, timeouts: { request_ms: 300 } };
    const { app } = harness({ config, deps: { fetch: upstream.fetch } });
    const first = postChat(app, chatBody({ verdict: { n: 1 } })); // holds the one slot (and gets its own 504)
    await new Promise((resolve) => setTimeout(resolve, 20));
    const started = performance.now();
    const waiting = await postChat(app, chatBody({ verdict: { n: 1 } }));
    expect(waiting.status).toBe(504);
    expect((await waiting.json()).error.code).toBe("request_timeout");
    expect(performance.now() - started).toBeLessThan(300 + 200);
    expect(upstream.calls()).toBe(1); // it never reached the upstream
    upstream.release();
    await first;
  });

  it("refuses a pass-through that would wait beyond max_queued, as it does verdict's own calls", async () => {
    const upstream = heldUpstream();
    // A long backoff: verdict's own refusal must come back at once, not be retried after it.
    const config = { generator: { concurrency: 1, max_queued: 0, max_retries: 2 }, retry: { base_delay_ms: 5_000, max_delay_ms: 5_000 } };
    const { app } = harness({ config, deps: { fetch: upstream.fetch } });
    const first = postChat(app, chatBody({ verdict: { n: 1 } }));
    await new Promise((resolve) => setTimeout(resolve, 20));
    const started = performance.now();
    const second = await postChat(app, chatBody({ verdict: { n: 1 } }));
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(second.status).toBe(429);
    expect((await second.json()).error.code).toBe("queue_full");
    expect(second.headers.get("retry-after")).toBe("1");
    upstream.release();
    expect((await first).status).toBe(200);
    expect(upstream.calls()).toBe(1);
  });

  /** An upstream that streams one event per call and ends each stream only when told, counting the calls that reached it. */
  function streamingUpstream() {
    const endings: (() => void)[] = [];
    let calls = 0;
    const fetch: typeof globalThis.fetch = async () => {
      calls += 1;
      let cancelled = false;
      const body = new ReadableStream<Uint8Array>({
        cancel: () => void (cancelled = true),
        start(controller) {
          controller.enqueue(new TextEncoder().encode('data: {"choices":[]}\n\n'));
          endings.push(() => {
            if (cancelled) return;
            controller.enqueue(new TextEncoder().encode("data: [DONE]\n\n"));
            controller.close();
          });
        },
      });
      return new Response(body, { headers: { "content-type": "text/event-stream" } });
    };
    return { fetch, endFirst: () => endings.shift()?.(), calls: () => calls };
  }
  const settle = () => new Promise((resolve) => setTimeout(resolve, 30));

  it("keeps a pass-through stream's slot until its last event, so concurrency bounds streams in flight", async () => {
    const upstream = streamingUpstream();
    const { app } = harness({ config: { generator: { concurrency: 1 } }, deps: { fetch: upstream.fetch } });
    const first = await postChat(app, chatBody({ stream: true, verdict: { n: 1 } }));
    expect(first.status).toBe(200);
    const second = postChat(app, chatBody({ stream: true, verdict: { n: 1 } }));
    await settle();
    expect(upstream.calls()).toBe(1); // the first stream is still running: the second waits for its slot
    upstream.endFirst();
    expect(await first.text()).toContain("data: [DONE]");
    const answered = await second;
    expect(upstream.calls()).toBe(2);
    upstream.endFirst();
    expect(await answered.text()).toContain("data: [DONE]");
  });

  it("gives a pass-through stream's slot back when its reader stops early", async () => {
    const upstream = streamingUpstream();
    const { app } = harness({ config: { generator: { concurrency: 1 } }, deps: { fetch: upstream.fetch } });
    const first = await postChat(app, chatBody({ stream: true, verdict: { n: 1 } }));
    const second = postChat(app, chatBody({ stream: true, verdict: { n: 1 } }));
    await settle();
    expect(upstream.calls()).toBe(1);
    await first.body!.cancel();
    const answered = await second;
    expect(upstream.calls()).toBe(2);
    upstream.endFirst(); // the cancelled one's: nothing to end
    upstream.endFirst();
    expect(await answered.text()).toContain("data: [DONE]");
  });

  it("gives a pass-through stream's slot back when its client stops reading for generator.timeout_ms", async () => {
    // An upstream that streams for as long as it is read; the second call ends at once.
    let calls = 0;
    const fetch: typeof globalThis.fetch = async () => {
      calls += 1;
      const endless = calls === 1;
      let sent = 0;
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          controller.enqueue(new TextEncoder().encode(`data: {"n":${sent++}}\n\n`));
          if (!endless) controller.enqueue(new TextEncoder().encode("data: [DONE]\n\n")), controller.close();
        },
      });
      return new Response(body, { headers: { "content-type": "text/event-stream" } });
    };
    const { app } = harness({ config: { generator: { concurrency: 1, timeout_ms: 100 } }, deps: { fetch } });
    const idle = await postChat(app, chatBody({ stream: true, verdict: { n: 1 } }));
    const reader = idle.body!.getReader();
    await reader.read(); // then the client takes nothing more, and stays
    const second = await postChat(app, chatBody({ stream: true, verdict: { n: 1 } }));
    expect(second.status).toBe(200);
    expect(calls).toBe(2);
    expect(await second.text()).toContain("data: [DONE]");
    // Reading again, the idle client learns why its stream ended.
    let rest = "";
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) rest += new TextDecoder().decode(chunk.value);
    expect(rest).toMatch(/"code":"client_stream_stalled"/);
  });

  it("gives a download's slot back when its client stops reading, and ends one whose upstream falls silent", async () => {
    // The first call streams bytes for as long as it is read; the second sends a little, then nothing; the third ends.
    let calls = 0;
    const fetch: typeof globalThis.fetch = async () => {
      const call = ++calls;
      let pulls = 0;
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          pulls += 1;
          if (call === 2 && pulls > 1) return new Promise<void>(() => undefined); // silent from now on
          controller.enqueue(new Uint8Array(call === 1 ? 1024 : 10));
          if (call === 3) controller.close();
        },
      });
      return new Response(body, { headers: { "content-type": "application/octet-stream" } });
    };
    const { app } = harness({ config: { generator: { concurrency: 1, timeout_ms: 100 } }, deps: { fetch } });
    const download = () => app.request("/v1/files/f/content");
    const idle = await download();
    const reader = idle.body!.getReader();
    await reader.read(); // then the client takes nothing more, and stays
    const silent = await download(); // waits for the idle client's slot
    expect(silent.status).toBe(200);
    await expect(silent.arrayBuffer()).rejects.toThrow(/sent nothing for 100 ms/);
    const third = await download();
    expect((await third.arrayBuffer()).byteLength).toBe(10);
    expect(calls).toBe(3);
    await expect((async () => { for (;;) if ((await reader.read()).done) return; })()).rejects.toThrow(/client read nothing for 100 ms/);
  });

  it("counts pass-through calls against the rate limit's window", async () => {
    const upstream = heldUpstream();
    const config = { generator: { concurrency: 8, max_queued: 0, interval_ms: 60_000, interval_cap: 1 } };
    const { app } = harness({ config, deps: { fetch: upstream.fetch } });
    const first = postChat(app, chatBody({ verdict: { n: 1 } }));
    await new Promise((resolve) => setTimeout(resolve, 20));
    upstream.release();
    expect((await first).status).toBe(200);
    const second = await postChat(app, chatBody({ verdict: { n: 1 } }));
    expect(second.status).toBe(429);
    // Nothing more starts before the next window: that is when to retry.
    expect(second.headers.get("retry-after")).toBe("60");
    expect(upstream.calls()).toBe(1);
  });
});

describe("health", () => {
  it("answers /healthz", async () => {
    const { app } = harness();
    const response = await app.request("/healthz");
    expect(await response.json()).toEqual({ status: "ok" });
  });
});

describe("pass-through of bodiless answers", () => {
  const target = (status: number) => ({
    baseURL: "http://upstream.test/v1",
    // No time limit is tested here: a plain exchange stands in for the retrying one.
    exchange: exchangeOverFetch(async () => new Response(null, { status, headers: { "content-type": "application/json" } })) as BoundedExchange,
  });

  it.each([204, 304])("relays a %i that says it is JSON without inventing a body", async (status) => {
    const response = await passThrough(target(status), new Request("http://verdict.test/v1/files/f1", { method: "DELETE" }), "/files/f1");
    expect(response.status).toBe(status);
    expect(response.body).toBeNull();
  });

  it("answers HEAD with the upstream's status and headers, no body", async () => {
    const response = await passThrough(target(200), new Request("http://verdict.test/v1/models", { method: "HEAD" }), "/models");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/json");
    expect(response.body).toBeNull();
  });
});

describe("pass-through on other routes", () => {
  it("retries an embeddings call as it retries chat ones, its body sent again whole", async () => {
    const bodies: string[] = [];
    const fetch: typeof globalThis.fetch = async (_input, init) => {
      bodies.push(init?.body instanceof Uint8Array ? new TextDecoder().decode(init.body) : String(init?.body));
      if (bodies.length === 1) return new Response('{"error":{"message":"busy"}}', { status: 502 });
      return Response.json({ object: "list", data: [{ object: "embedding", index: 0, embedding: [0.1] }] });
    };
    const { app } = harness({ config: { generator: { max_retries: 2 }, retry: { base_delay_ms: 1, max_delay_ms: 1 } }, deps: { fetch } });
    const response = await app.request("/v1/embeddings", { method: "POST", headers: { "content-type": "application/json" }, body: '{"model":"e","input":"hi"}' });
    expect(response.status).toBe(200);
    expect(bodies).toEqual(['{"model":"e","input":"hi"}', '{"model":"e","input":"hi"}']);
  });
});

describe("compressed request bodies", () => {
  const gzipped = gzipSync('{"model":"m","messages":[{"role":"user","content":"hi"}],"verdict":{"n":2}}');
  const seen: string[] = [];
  const fetch: typeof globalThis.fetch = async (input) => (seen.push(String(input)), Response.json({ object: "list", data: [] }));

  it("are refused with 415 naming content-encoding where verdict reads the JSON, instead of looking malformed", async () => {
    const { app } = harness({ deps: { fetch } });
    for (const path of ["/v1/chat/completions", "/v1/responses", "/v1/completions", "/v1/embeddings"]) {
      const response = await app.request(path, { method: "POST", headers: { "content-type": "application/json", "content-encoding": "gzip" }, body: gzipped });
      expect(response.status).toBe(415);
      expect(response.headers.get("accept-encoding")).toBe("identity");
      expect((await response.json()).error).toMatchObject({ param: "content-encoding", code: "unsupported_content_encoding" });
    }
    expect(seen).toEqual([]); // none went upstream, verdict's options with it
  });

  it("go through as they are where verdict does not read the body, and identity is no compression", async () => {
    const { app } = harness({ deps: { fetch } });
    const upload = await app.request("/v1/files", { method: "POST", headers: { "content-type": "application/octet-stream", "content-encoding": "gzip" }, body: gzipped });
    expect(upload.status).toBe(200);
    const plain = await app.request("/v1/embeddings", { method: "POST", headers: { "content-type": "application/json", "content-encoding": "identity" }, body: '{"model":"e","input":"hi"}' });
    expect(plain.status).toBe(200);
  });
});
