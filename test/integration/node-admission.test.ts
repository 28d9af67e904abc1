// The Node server's bound on request bodies held at once (server.max_inflight_body_bytes): past it, a clear 503 at
// once instead of memory taken without limit; below it, nothing changes.
import { connect } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { createJsonLogger, startProxy, type RunningProxy } from "../../src/adapters/node";
import { chatBody, testConfig } from "../helpers";
import { startSimulator, type RunningSimulator } from "../sim/start";

const BOUND = 3_000;
/** A pass-through body of about `bytes` bytes. */
const bodyOf = (bytes: number) => JSON.stringify(chatBody({ messages: [{ role: "user", content: "x".repeat(bytes - 100) }], verdict: { n: 1 } }));

let running: { proxy: RunningProxy; upstream: RunningSimulator } | undefined;
afterEach(async () => {
  await running?.proxy.close();
  await running?.upstream.close();
  running = undefined;
});

/** A proxy whose generator answers after `latencyMs`, bodies held at once bounded at BOUND bytes (and each body too); its log lines are kept. */
async function start(latencyMs: number, extra: Record<string, unknown> = {}) {
  const upstream = await startSimulator({ generator: { latency: { ttft_ms: latencyMs } } });
  const lines: Record<string, unknown>[] = [];
  const keep = (text: string) => void lines.push(JSON.parse(text) as Record<string, unknown>);
  const config = testConfig({ generator: { base_url: upstream.url }, server: { port: 0, max_inflight_body_bytes: BOUND, body_limit_bytes: BOUND }, ...extra });
  const proxy = await startProxy(config, createJsonLogger("info", { out: keep, err: keep }));
  running = { proxy, upstream };
  const post = (body: string, signal?: AbortSignal, headers: Record<string, string> = {}) =>
    fetch(`${proxy.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body, signal });
  return { proxy, post, lines };
}

/** A proxy as `start` gives it, already holding one request of `bytes` that waits for the generator. */
async function holding(bytes: number, extra: Record<string, unknown> = {}) {
  const started = await start(400, extra);
  const first = started.post(bodyOf(bytes));
  await new Promise((resolve) => setTimeout(resolve, 100));
  return { ...started, first };
}

describe("the bound on request bodies held at once", () => {
  it("refuses a body that would go past it with 503 server_busy and retry-after, at once, and takes it again once room is made", async () => {
    const { post, lines, first } = await holding(2_000);
    const started = performance.now();
    const refused = await post(bodyOf(2_000));
    expect(performance.now() - started).toBeLessThan(200);
    expect(refused.status).toBe(503);
    expect(refused.headers.get("retry-after")).toBe("1");
    expect(refused.headers.get("x-request-id")).toBeTruthy();
    expect((await refused.json()).error).toMatchObject({ type: "server_error", code: "server_busy", param: null });
    // A small body still fits beside the first, and a request without one is never counted.
    expect((await post(bodyOf(500))).status).toBe(200);
    expect((await fetch(`${running!.proxy.url}/healthz`)).status).toBe(200);
    expect((await first).status).toBe(200);
    expect((await post(bodyOf(2_000))).status).toBe(200);
    expect(lines.filter((line) => line.status === 503)).toEqual([expect.objectContaining({ level: "warn", event: "request", route: "chat_completions", error: "server_busy" })]);
  });

  it("logs a refusal in the client's trace, as any other request", async () => {
    // Spans are exported nowhere here (nothing listens on port 9); the log line names the trace all the same.
    const { post, lines, first } = await holding(2_000, { tracing: { otlp_endpoint: "http://127.0.0.1:9/v1/traces" } });
    const trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    expect((await post(bodyOf(2_000), undefined, { traceparent: `00-${trace}-00f067aa0ba902b7-01` })).status).toBe(503);
    expect(lines.find((line) => line.status === 503)).toMatchObject({ error: "server_busy", trace_id: trace });
    expect((await first).status).toBe(200);
  });

  it("takes a body as large as the body limit when nothing else is held", async () => {
    const { post } = await start(0);
    expect((await post(bodyOf(BOUND))).status).toBe(200);
  });

  it("frees a request's share when its client leaves, not only when its answer is out", async () => {
    const { post } = await start(60_000);
    const client = new AbortController();
    const leaving = post(bodyOf(2_000), client.signal).catch(() => "left");
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await post(bodyOf(2_000))).status).toBe(503);
    client.abort();
    expect(await leaving).toBe("left");
    await new Promise((resolve) => setTimeout(resolve, 100));
    // Its room is back: this one is admitted (and then waits for the slow generator, which is not what is tested).
    const admitted = new AbortController();
    const answer = post(bodyOf(2_000), admitted.signal);
    const soon = await Promise.race([answer.then((r) => r.status), new Promise((resolve) => setTimeout(() => resolve("still working"), 300))]);
    expect(soon).toBe("still working");
    admitted.abort();
    await answer.catch(() => undefined);
  });

  it("frees the share of a pipelined request whose client leaves before its answer has a socket", async () => {
    const { proxy, post } = await start(400);
    const request = (body: string) => `POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
    const socket = connect(Number(new URL(proxy.url).port), "127.0.0.1");
    await new Promise((resolve) => socket.once("connect", resolve));
    // The second waits for the first's answer before its own can be written: it has no socket of its own yet.
    socket.write(request(bodyOf(300)) + request(bodyOf(2_600)));
    await new Promise((resolve) => setTimeout(resolve, 150));
    socket.destroy();
    await new Promise((resolve) => setTimeout(resolve, 600));
    expect((await post(bodyOf(2_000))).status).toBe(200);
  });

  /** What the proxy answers on a raw connection to `head`, once it closes the connection. */
  function rawAnswer(proxy: RunningProxy, head: string): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      const socket = connect(Number(new URL(proxy.url).port), "127.0.0.1");
      let text = "";
      socket.on("data", (chunk) => (text += chunk.toString()));
      socket.on("close", () => resolve(text));
      socket.on("error", reject);
      socket.write(head);
    });
  }

  it("counts a body of no stated length as the largest accepted, and closes the connection when refusing it", async () => {
    const { proxy, first } = await holding(500);
    // Chunked: it might be up to server.body_limit_bytes long, far past what is left.
    const answer = await rawAnswer(proxy, "POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n5\r\n{\"a\":\r\n");
    expect(answer).toMatch(/^HTTP\/1\.1 503/);
    expect(answer).toMatch(/connection: close/i);
    expect(answer).toContain('"code":"server_busy"');
    expect((await first).status).toBe(200);
  });

  it("refuses a client waiting for 100-continue without the go-ahead, so its body is never sent", async () => {
    const { proxy, first } = await holding(2_000);
    const answer = await rawAnswer(proxy, "POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: 2000\r\nexpect: 100-continue\r\n\r\n");
    expect(answer).toMatch(/^HTTP\/1\.1 503/);
    expect(answer).not.toContain("100 Continue");
    expect(answer).toMatch(/connection: close/i);
    expect((await first).status).toBe(200);
  });
});
