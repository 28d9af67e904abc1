// A pass-through path stays below the generator's /v1: %5c (a backslash once decoded, which URL parsing takes for "/")
// must not climb out of the base path and reach other routes of the generator's host with its key.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { request as httpRequest } from "node:http";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startProxy, type RunningProxy } from "../../src/adapters/node";
import { silentLogger } from "../../src/app";
import { testConfig } from "../helpers";

const seen: { url: string; authorization?: string }[] = [];
const upstream = createServer((req, res) => {
  seen.push({ url: req.url ?? "", authorization: req.headers.authorization });
  req.resume().on("end", () => res.writeHead(404, { "content-type": "application/json" }).end('{"error":{"message":"no such route"}}'));
});
let proxy: RunningProxy;

beforeAll(async () => {
  await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
  const base = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1`;
  proxy = await startProxy(testConfig({ generator: { base_url: base, api_key: "sk-generator-key-0001" }, server: { port: 0 } }), silentLogger);
});
afterAll(async () => {
  await proxy?.close();
  upstream.close();
});

/** Sends `path` exactly as written (no client-side normalising), and resolves with the status. */
function send(method: string, path: string, body?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const { port } = new URL(proxy.url);
    const req = httpRequest({ host: "127.0.0.1", port, method, path, headers: body ? { "content-type": "application/json" } : {} }, (res) => {
      res.resume().on("end", () => resolve(res.statusCode!));
    });
    req.on("error", reject);
    req.end(body);
  });
}

it.each([
  ["GET", "/v1/%2e%2e%5c%2e%2e%5cadmin%5csecret?x=1"],
  ["GET", "/v1/.%5c..%5cadmin"],
  ["POST", "/v1/x%5c..%5cchat%5ccompletions"],
  ["POST", "/v1/chat%2Fcompletions"],
])("%s %s is refused: an encoded separator would route the generator's request elsewhere than verdict's", async (method, path) => {
  const before = seen.length;
  const body = method === "POST" ? JSON.stringify({ model: "m", messages: [{ role: "user", content: "hi" }], n: 50, verdict: { n: 4 } }) : undefined;
  expect(await send(method, path, body)).toBe(400);
  expect(seen.length).toBe(before);
});

it("passes a model id with encoded separators to the generator's models route, and only there", async () => {
  const before = seen.length;
  expect(await send("GET", "/v1/models/%2e%2e%5c%2e%2e%5cadmin")).toBe(404);
  expect(seen.slice(before).map((s) => s.url)).toEqual(["/v1/models/%2e%2e%5c%2e%2e%5cadmin"]);
  expect(await send("GET", "/v1/models/meta-llama%2FLlama-3.3-70B")).toBe(404);
  expect(seen.at(-1)!.url).toBe("/v1/models/meta-llama%2FLlama-3.3-70B");
  // Deleting a fine-tuned model whose id holds a slash, as OpenAI's API allows; a POST there is still refused.
  expect(await send("DELETE", "/v1/models/ft%3Aorg%2Fmodel")).toBe(404);
  expect(seen.at(-1)!.url).toBe("/v1/models/ft%3Aorg%2Fmodel");
  expect(await send("POST", "/v1/models/..%2fchat%2fcompletions", "{}")).toBe(400);
});
