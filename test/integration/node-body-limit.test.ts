// A body over the limit on the Node server: the client must hear the 413, not a connection reset mid-upload.
import { connect } from "node:net";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startProxy, type RunningProxy } from "../../src/adapters/node";
import { silentLogger } from "../../src/app";
import { testConfig } from "../helpers";
import { startSimulator, type RunningSimulator } from "../sim/start";

let sim: RunningSimulator;
let proxy: RunningProxy;

beforeAll(async () => {
  sim = await startSimulator();
  proxy = await startProxy(testConfig({ generator: { base_url: sim.url }, server: { port: 0, body_limit_bytes: 64 * 1024 } }), silentLogger);
});
afterAll(async () => {
  await proxy?.close();
  await sim?.close();
});

/** Writes `requests` down one connection, each after the last was written; resolves with all the server sent by its close. */
function oneConnection(requests: Buffer[]): Promise<string> {
  const socket = connect(Number(new URL(proxy.url).port), "127.0.0.1");
  let text = "";
  socket.on("data", (chunk) => (text += chunk.toString()));
  return new Promise((resolve) => {
    socket.on("error", () => resolve(text)); // a reset under our writes: what the server sent before it is what we got
    socket.on("close", () => resolve(text));
    socket.on("connect", async () => {
      for (const request of requests) {
        if (!socket.write(request)) await new Promise((drained) => socket.once("drain", drained));
      }
    });
  });
}

it("reads and drops the rest of a body declared over the limit, so the 413 is heard and the connection serves on", async () => {
  // Closed unread instead, a connection is reset under a client still uploading, whose HTTP client then reports the
  // reset (EPIPE) instead of the 413: one upload of 20 MB in six on a busy machine, and the openai SDK sends it again.
  const big = 8 * 1024 * 1024;
  const head = `POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: ${big}\r\n\r\n`;
  const next = "GET /v1/models HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n";
  const answered = await oneConnection([Buffer.from(head), Buffer.alloc(big, "x"), Buffer.from(next)]);
  const statuses = [...answered.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => m[1]);
  expect(statuses).toEqual(["413", "200"]);
  expect(answered).toContain("body_too_large");
});
