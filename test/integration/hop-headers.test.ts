// Headers a client names in its Connection header are for the hop to verdict alone (RFC 9110, 7.6.1): a pass-through
// does not send them on to the generator; nor those the generator names in its own to the client.
import { createServer, request as httpRequest, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startProxy, type RunningProxy } from "../../src/adapters/node";
import { silentLogger } from "../../src/app";
import { chatBody, testConfig } from "../helpers";

let received: IncomingHttpHeaders | undefined;
const upstream = createServer((req, res) => {
  received = req.headers;
  req.resume().on("end", () => res.writeHead(200, { "content-type": "application/json", connection: "x-internal, keep-alive", "x-internal": "upstream hop", "x-shown": "yes" }).end('{"ok":true}'));
});
let proxy: RunningProxy;

beforeAll(async () => {
  await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
  proxy = await startProxy(testConfig({ generator: { base_url: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1` }, server: { port: 0 } }), silentLogger);
});
afterAll(async () => {
  await proxy?.close();
  upstream.close();
});

let answered: IncomingHttpHeaders | undefined;

function send(path: string, headers: Record<string, string>, body?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${proxy.url}${path}`, { method: body ? "POST" : "GET", headers }, (res) => {
      answered = res.headers;
      res.resume().on("end", () => resolve(res.statusCode!));
    });
    req.on("error", reject);
    req.end(body);
  });
}

it.each([
  ["a pass-through route", "/v1/files", undefined],
  ["chat completions passed through", "/v1/chat/completions", JSON.stringify(chatBody({ verdict: { n: 1 } }))],
])("keeps the headers the client's Connection names from the generator on %s", async (_name, path, body) => {
  const headers = { connection: "keep-alive, X-Hop", "x-hop": "for verdict only", "x-kept": "yes", ...(body ? { "content-type": "application/json" } : {}) };
  expect(await send(path, headers, body)).toBe(200);
  expect(received).toBeDefined();
  expect(received!["x-hop"]).toBeUndefined();
  expect(received!["x-kept"]).toBe("yes");
  expect(answered!["x-internal"]).toBeUndefined();
  expect(answered!["x-shown"]).toBe("yes");
});
