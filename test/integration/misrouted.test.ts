// Other /v1 routes go to the generator as they came. A request that meant verdict's own chat completions or responses
// route under another spelling, or asks for verdict's options (a guard above all) where they do not apply, is refused:
// passed through, it would get an answer nobody judged or checked against the documents.
import { createServer, request as httpRequest } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startProxy, type RunningProxy } from "../../src/adapters/node";
import { silentLogger } from "../../src/app";
import { testConfig } from "../helpers";

const seen: string[] = [];
const upstream = createServer((req, res) => {
  seen.push(req.url ?? "");
  req.resume().on("end", () => res.writeHead(404, { "content-type": "application/json" }).end('{"error":{"message":"no such route"}}'));
});
let proxy: RunningProxy;

beforeAll(async () => {
  await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1`;
  proxy = await startProxy(testConfig({ generator: { base_url: base }, judge: { base_url: base }, server: { port: 0 } }), silentLogger);
});
afterAll(async () => {
  await proxy?.close();
  upstream.close();
});

/** Sends `path` exactly as written (no client-side normalising); resolves with the status and the error, if any. */
function send(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; error?: Record<string, unknown> }> {
  return sendRaw(method, path, body === undefined ? undefined : JSON.stringify(body), headers);
}

function sendRaw(method: string, path: string, sent?: string, headers: Record<string, string> = {}): Promise<{ status: number; error?: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const { port } = new URL(proxy.url);
    const req = httpRequest({ host: "127.0.0.1", port, method, path, headers: { ...(sent ? { "content-type": "application/json" } : {}), ...headers } }, (res) => {
      let text = "";
      res.setEncoding("utf8").on("data", (chunk: string) => (text += chunk)).on("end", () => resolve({ status: res.statusCode!, error: text ? JSON.parse(text).error : undefined }));
    });
    req.on("error", reject);
    req.end(sent);
  });
}

const guarded = {
  model: "m",
  messages: [{ role: "user", content: "Where is the Eiffel Tower?" }],
  verdict: { strategy: "guard", context: "The Eiffel Tower is in Paris." },
};

it.each(["/v1//chat/completions", "/v1/chat//completions", "/v1/Chat/Completions", "/v1/chat/completions;a", "/v1//responses"])(
  "refuses POST %s, which a lenient upstream would answer as its own route, unguarded",
  async (path) => {
    const before = seen.length;
    const { status, error } = await send("POST", path, guarded);
    expect(status).toBe(404);
    expect(error).toMatchObject({ code: "not_found", message: expect.stringMatching(/verdict answers \/v1\/(chat\/completions|responses)$/) });
    expect(seen.length).toBe(before);
  },
);

it("answers an escaped spelling of the chat route as that route, guard and all", async () => {
  const before = seen.length;
  await send("POST", "/v1/chat/%63ompletions", guarded);
  expect(seen.slice(before).length).toBeGreaterThan(0);
  expect(seen.slice(before).every((url) => url === "/v1/chat/completions")).toBe(true); // its draws, not the path as sent
});

it("refuses verdict's options in the body or a guard by header on a route they do not apply to", async () => {
  const before = seen.length;
  const inBody = await send("POST", "/v1/completions", { model: "m", prompt: "hi", verdict: { strategy: "guard", context: "doc" } });
  expect(inBody).toMatchObject({ status: 400, error: { param: "verdict", code: "unknown_parameter" } });
  const byHeader = await send("POST", "/v1/completions", { model: "m", prompt: "hi" }, { "x-verdict-strategy": "guard" });
  expect(byHeader).toMatchObject({ status: 400, error: { param: "x-verdict-strategy" } });
  // As verdict's own routes read a body: JSON under another content type, and a key with an escaped letter.
  const asText = await send("POST", "/v1/completions", { model: "m", prompt: "hi", verdict: { n: 2 } }, { "content-type": "text/plain" });
  expect(asText).toMatchObject({ status: 400, error: { param: "verdict" } });
  const escaped = await sendRaw("POST", "/v1/completions", '{"model":"m","prompt":"hi","verdic\\u0074":{"strategy":"guard"}}');
  expect(escaped).toMatchObject({ status: 400, error: { param: "verdict" } });
  expect(seen.length).toBe(before);
});

it("lets a client that sends the guard header on every call reach routes with no text to check", async () => {
  const before = seen.length;
  const guard = { "x-verdict-strategy": "guard" };
  expect((await send("POST", "/v1/embeddings", { model: "m", input: "hi" }, guard)).status).toBe(404);
  expect((await send("GET", "/v1/files", undefined, guard)).status).toBe(404);
  expect((await send("GET", "/v1/chat/completions/", undefined, guard)).status).toBe(404); // a listing, not verdict's route
  expect(seen.slice(before)).toEqual(["/v1/embeddings", "/v1/files", "/v1/chat/completions/"]);
});

it("still passes other routes through, and verdict's routes under other methods", async () => {
  const before = seen.length;
  expect((await send("POST", "/v1/completions", { model: "m", prompt: "a verdict of sorts" })).status).toBe(404);
  expect((await send("POST", "/v1/embeddings", { model: "m", input: "hi" }, { "x-verdict-n": "4" })).status).toBe(404);
  expect((await send("GET", "/v1/chat/completions")).status).toBe(404); // stored completions, the generator's to list
  expect((await send("GET", "/v1/responses/resp_1")).status).toBe(404);
  expect(seen.slice(before)).toEqual(["/v1/completions", "/v1/embeddings", "/v1/chat/completions", "/v1/responses/resp_1"]);
});
