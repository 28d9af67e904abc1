// Proxy keys, bring-your-own-key, and the promise that no key ever shows up in a response, an error or a log line.
import { describe, expect, it } from "vitest";
import type { Logger } from "../../src/app";
import { digestsEqual } from "../../src/auth";
import { loadConfig } from "../../src/config";
import { chatBody, harness, postChat } from "../helpers";

const PROXY_KEY = "vk-proxy-key-0123456789";

describe("proxy keys", () => {
  const { app, sim } = harness({ config: { auth: { keys: ["vk-other-key-999999", PROXY_KEY] } } });

  it.each([
    ["no Authorization header", {}],
    ["a wrong key", { authorization: "Bearer vk-proxy-key-0123456780" }],
    ["the right key without Bearer", { authorization: PROXY_KEY }],
  ])("refuses %s with a 401 in OpenAI's shape", async (_label, headers: Record<string, string>) => {
    const response = await postChat(app, chatBody({ verdict: { n: 2 } }), headers);
    expect(response.status).toBe(401);
    const body = await response.json();
    expect(body).toEqual({ error: { message: expect.any(String), type: "authentication_error", param: null, code: "invalid_api_key" } });
    expect(JSON.stringify(body)).not.toMatch(/vk-proxy/);
    expect(sim.requests).toHaveLength(0);
  });

  it("lets the right key through (any of the configured ones), on every /v1 route", async () => {
    expect((await postChat(app, chatBody({ verdict: { n: 2 } }), { authorization: `Bearer ${PROXY_KEY}` })).status).toBe(200);
    expect((await app.request("/v1/models", { headers: { authorization: "Bearer vk-other-key-999999" } })).status).toBe(200);
    expect((await app.request("/v1/models")).status).toBe(401);
  });

  it("keeps /healthz open", async () => {
    expect((await app.request("/healthz")).status).toBe(200);
  });

  it("reads keys from VERDICT_API_KEYS, comma-separated", () => {
    const config = loadConfig(
      { VERDICT_API_KEYS: " key-one-11111, key-two-22222 ,", GENERATOR_BASE_URL: "http://127.0.0.1:9/v1", JUDGE_MODEL: "j" },
    );
    expect(config.auth.keys).toEqual(["key-one-11111", "key-two-22222"]);
  });

  it("compares digests over every byte", () => {
    const a = new Uint8Array([1, 2, 3, 4]);
    expect(digestsEqual(a, new Uint8Array([1, 2, 3, 4]))).toBe(true);
    expect(digestsEqual(a, new Uint8Array([1, 2, 3, 5]))).toBe(false);
    expect(digestsEqual(a, new Uint8Array([9, 2, 3, 4]))).toBe(false);
    expect(digestsEqual(a, new Uint8Array([1, 2, 3]))).toBe(false);
  });
});

describe("bring your own key (auth.forward_client_key)", () => {
  it("sends the client's key to the generator, and the configured judge key to the judge", async () => {
    const { app, sim } = harness({
      config: { auth: { forward_client_key: true }, generator: { api_key: "sk-operator-gen-key" }, judge: { api_key: "sk-operator-judge" } },
    });
    const headers = { authorization: "Bearer sk-client-own-key-1" };
    expect((await postChat(app, chatBody({ verdict: { n: 2 } }), headers)).status).toBe(200);
    expect((await postChat(app, chatBody({ verdict: { n: 1 } }), headers)).status).toBe(200);
    const seen = (role: string) => new Set(sim.requests.filter((r) => r.role === role).map((r) => r.headers.authorization));
    expect(seen("generator")).toEqual(new Set(["Bearer sk-client-own-key-1"]));
    expect(seen("judge")).toEqual(new Set(["Bearer sk-operator-judge"]));
    expect((await postChat(app, chatBody())).status).toBe(401); // no key of their own: nothing to forward
  });

  it("bills a pass-through to the operator's organization and project with its key, and to the client's with the client's", async () => {
    const client = { "openai-organization": "org-client", "openai-project": "proj-client" };
    const billedTo = (sim: ReturnType<typeof harness>["sim"]) =>
      new Set(sim.requests.filter((r) => r.role === "generator").map((r) => `${r.headers["openai-organization"]}/${r.headers["openai-project"]}`));
    const saved = process.env.OPENAI_ORG_ID;
    process.env.OPENAI_ORG_ID = "org-operator";
    try {
      const operator = harness({ config: { generator: { api_key: "sk-operator-gen-key" } } });
      expect((await postChat(operator.app, chatBody({ verdict: { n: 1 } }), client)).status).toBe(200);
      expect((await postChat(operator.app, chatBody({ verdict: { n: 2 } }), client)).status).toBe(200);
      // Every generator call, passed through or drawn for reranking, goes to the operator's organization.
      expect(billedTo(operator.sim)).toEqual(new Set(["org-operator/undefined"]));
      const own = harness({ config: { auth: { forward_client_key: true }, generator: { api_key: "sk-operator-gen-key" } } });
      expect((await postChat(own.app, chatBody({ verdict: { n: 1 } }), { ...client, authorization: "Bearer sk-client-own-key-1" })).status).toBe(200);
      expect(billedTo(own.sim)).toEqual(new Set(["org-client/proj-client"]));
      // Reranked with the client's key: never the operator's organization beside it (OpenAI refuses the pair).
      own.sim.requests.length = 0;
      expect((await postChat(own.app, chatBody({ verdict: { n: 2 } }), { authorization: "Bearer sk-client-own-key-1" })).status).toBe(200);
      expect((await postChat(own.app, chatBody({ stream: true, verdict: { n: 2 } }), { authorization: "Bearer sk-client-own-key-1" })).status).toBe(200);
      expect(billedTo(own.sim)).toEqual(new Set(["undefined/undefined"]));
    } finally {
      if (saved === undefined) delete process.env.OPENAI_ORG_ID;
      else process.env.OPENAI_ORG_ID = saved;
    }
  });

  it("takes the proxy key from x-verdict-api-key when proxy keys are set as well, and never forwards it", async () => {
    const { app, sim } = harness({ config: { auth: { forward_client_key: true, keys: [PROXY_KEY] } } });
    const own = { authorization: "Bearer sk-client-own-key-2" };
    expect((await postChat(app, chatBody({ verdict: { n: 1 } }), own)).status).toBe(401);
    const response = await postChat(app, chatBody({ verdict: { n: 1 } }), { ...own, "x-verdict-api-key": PROXY_KEY });
    expect(response.status).toBe(200);
    expect(JSON.stringify(sim.requests.map((r) => r.headers))).not.toContain(PROXY_KEY);
  });
});

describe("no key leaks", () => {
  it("keeps a key out of an upstream's error body that escapes its slashes or letters, as JSON may", async () => {
    const key = "ops/KEYSECRET+v1.(x)*[y]";
    const spellings = [
      key.replaceAll("/", "\\/"), // PHP's json_encode
      [...key].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`).join(""),
    ];
    for (const spelt of spellings) {
      const echoing: typeof globalThis.fetch = async () =>
        new Response(`{"error":{"message":"Incorrect API key provided: ${spelt}","type":"invalid_request_error"}}`, { status: 401, headers: { "content-type": "application/json" } });
      const { app } = harness({ config: { generator: { api_key: key, max_retries: 0 } }, deps: { fetch: echoing } });
      for (const n of [2, 1]) {
        const response = await postChat(app, chatBody({ verdict: { n } }));
        const text = await response.text();
        expect(response.status).toBe(401);
        expect(text).toContain("Incorrect API key provided");
        expect([n, text]).not.toEqual([n, expect.stringContaining("KEYSECRET")]);
        expect([n, text]).not.toEqual([n, expect.stringContaining(spelt)]);
      }
    }
    // An error sent with a 200, where an answer belongs, is decoded by verdict to be reported: its message is hunted too.
    const escaped = spellings[1]!;
    for (const stream_sampling of [false, true]) {
      const body = `{"error":{"message":"Incorrect API key provided: ${escaped}","type":"invalid_request_error","code":401}}`;
      const sentWith200: typeof globalThis.fetch = async () =>
        stream_sampling ? new Response(`data: ${body}\n\n`, { headers: { "content-type": "text/event-stream" } }) : new Response(body, { headers: { "content-type": "application/json" } });
      const { app } = harness({ config: { generator: { api_key: key, max_retries: 0, stream_sampling, supports_n: true } }, deps: { fetch: sentWith200 } });
      const text = await (await postChat(app, chatBody({ verdict: { n: 2 } }))).text();
      expect(text).toContain("Incorrect API key provided");
      expect([stream_sampling, text]).not.toEqual([stream_sampling, expect.stringContaining("KEYSECRET")]);
    }
  });

  it("keeps every key out of bodies, headers and logs, through a run full of failures and echoing upstreams", async () => {
    // The generator's key holds a quote and a backslash: echoed inside a JSON error body, it appears as JSON escapes it.
    const secrets = ['sk-gen"upstream\\SECRET-1', "judge-upstream-SECRET-2", PROXY_KEY, "vk-proxy-key-0123456780"];
    const logs: string[] = [];
    const capture = (level: string) => (event: Record<string, unknown>) => void logs.push(`${level} ${JSON.stringify(event)}`);
    const logger: Logger = { info: capture("info"), warn: capture("warn"), error: capture("error") };
    const { app } = harness({
      sim: {
        seed: 3,
        faults: {
          echo_headers: true,
          generator: { rate: 0.5, kinds: ["status_500", "status_503", "status_429", "reset", "malformed_json"] },
          judge: { rate: 0.5, kinds: ["status_502", "status_429", "garbage"] },
        },
      },
      config: {
        auth: { keys: [PROXY_KEY] },
        generator: { api_key: secrets[0], supports_n: false },
        judge: { api_key: secrets[1] },
      },
      deps: { logger },
    });
    const good = { authorization: `Bearer ${PROXY_KEY}` };
    const outputs: string[] = [];
    const record = async (response: Response) => {
      outputs.push(`${response.status} ${JSON.stringify([...response.headers])} ${await response.text()}`);
    };
    for (let i = 0; i < 12; i++) {
      await record(await postChat(app, chatBody({ verdict: { n: 3, min_candidates: 1 } }), good));
      await record(await postChat(app, chatBody({ verdict: { n: 1 } }), good));
      await record(await app.request("/v1/models", { headers: good }));
    }
    await record(await postChat(app, chatBody(), { authorization: `Bearer ${secrets[3]}` }));
    await record(await postChat(app, chatBody(), { authorization: secrets[3]! }));

    const everything = [...outputs, ...logs].join("\n");
    // The run must really have exercised failures and echoes, or this test would prove nothing.
    expect(outputs.filter((o) => !o.startsWith("200")).length).toBeGreaterThan(3);
    expect(everything).toContain("[redacted]");
    expect(logs.length).toBeGreaterThan(0);
    for (const secret of secrets) {
      expect(everything).not.toContain(secret);
      expect(everything).not.toContain(secret.slice(-8)); // nor its tail (no character JSON escapes), however it was echoed
    }
  });
});
