// Expect: 100-continue on the Node server: a client with the right proxy key is told to go ahead with its upload; one
// without is answered 401 at once and never told to send a body that would be refused.
import { connect } from "node:net";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startProxy, type RunningProxy } from "../../src/adapters/node";
import { silentLogger } from "../../src/app";
import { chatBody, testConfig } from "../helpers";
import { startSimulator, type RunningSimulator } from "../sim/start";

const KEY = "proxy-key-123456";
let sim: RunningSimulator;
let proxy: RunningProxy;

beforeAll(async () => {
  sim = await startSimulator();
  proxy = await startProxy(testConfig({ generator: { base_url: sim.url }, auth: { keys: [KEY] }, server: { port: 0 } }), silentLogger);
});
afterAll(async () => {
  await proxy?.close();
  await sim?.close();
});

/** Sends the headers of a chat request that expects 100-continue; resolves with the first status line the server sends. */
function firstAnswer(key: string, length?: number): Promise<{ line: string; sendBody(): void; done: Promise<string> }> {
  const body = JSON.stringify(chatBody({ verdict: { n: 1 } }));
  const socket = connect(Number(new URL(proxy.url).port), "127.0.0.1");
  let text = "";
  const done = new Promise<string>((resolve) => socket.on("close", () => resolve(text)));
  return new Promise((resolve, reject) => {
    socket.on("error", reject);
    socket.once("data", (chunk) => {
      text += chunk.toString();
      socket.on("data", (more) => (text += more.toString()));
      resolve({ line: chunk.toString().split("\r\n")[0]!, sendBody: () => socket.write(body), done });
    });
    socket.write(
      `POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\nauthorization: Bearer ${key}\r\n` +
        `expect: 100-continue\r\ncontent-length: ${length ?? Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n`,
    );
  });
}

it("answers a wrong key 401 without telling the client to upload", async () => {
  const { line, done } = await firstAnswer("wrong-key-000000");
  expect(line).toBe("HTTP/1.1 401 Unauthorized");
  expect(await done).not.toContain("100 Continue");
});

it("tells a client with the right key to go ahead, and answers its request", async () => {
  const { line, sendBody, done } = await firstAnswer(KEY);
  expect(line).toBe("HTTP/1.1 100 Continue");
  sendBody();
  expect(await done).toMatch(/HTTP\/1\.1 200 OK/);
});

it("answers a body declared larger than the limit 413 without telling the client to upload it", async () => {
  const { line, done } = await firstAnswer(KEY, 100 * 1024 * 1024);
  expect(line).toBe("HTTP/1.1 413 Payload Too Large");
  expect(await done).not.toContain("100 Continue");
});
